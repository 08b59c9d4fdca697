"""The migration chain, on a real PostgreSQL.

pytest-alembic's built-in checks (one head, upgrade from nothing, models match the
migrations' DDL, every step down and back up) run as they would in any team's CI;
the tests after them say more than those do.
"""

import io
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from pytest_alembic.tests import (  # noqa: F401  (collected here, run on a fresh database each)
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy.engine import make_url

from migrationlab.infra.embedded import EmbeddedServer
from tests.conftest import REPO


def schema_of(engine: sa.Engine) -> dict:
    """Tables with their columns, indexes, foreign keys and primary keys, comparable with ==."""
    inspector = sa.inspect(engine)
    return {
        table: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            sorted((i["name"], tuple(i["column_names"]), i["unique"]) for i in inspector.get_indexes(table)),
            sorted(
                (f["name"], f["referred_table"], f["options"].get("ondelete"))
                for f in inspector.get_foreign_keys(table)
            ),
            inspector.get_pk_constraint(table)["name"],
        )
        for table in inspector.get_table_names()
    }


def version_of(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.exec_driver_sql("select version_num from alembic_version").scalar()


def test_revision_ids_are_short_and_sequential(migrations):
    script = ScriptDirectory.from_config(migrations)
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    assert revisions == [f"{n:03d}" for n in range(1, len(revisions) + 1)]
    for rev in script.walk_revisions():
        assert os.path.basename(rev.path).startswith(rev.revision + "_")


def test_every_downgrade_leaves_the_schema_it_found(migrations, db):
    """More than test_up_down_consistency (which checks that each step runs): head ->
    base one step at a time and back, with the same schema at each revision both ways."""
    connection = migrations.attributes["connection"]
    script = ScriptDirectory.from_config(migrations)
    chain = [None] + [r.revision for r in reversed(list(script.walk_revisions()))]

    going_up = {}
    for rev in chain[1:]:
        command.upgrade(migrations, "+1")
        connection.commit()
        assert version_of(db.engine) == rev
        going_up[rev] = schema_of(db.engine)

    for rev in reversed(chain[:-1]):
        command.downgrade(migrations, "-1")
        connection.commit()
        assert version_of(db.engine) == rev
        if rev is not None:
            assert schema_of(db.engine) == going_up[rev], f"downgrade to {rev} left a different schema"
    assert set(schema_of(db.engine)) == {"alembic_version"}

    command.upgrade(migrations, "head")
    connection.commit()
    assert schema_of(db.engine) == going_up[chain[-1]]


def test_check_notices_a_database_behind_the_models(migrations):
    """The check above can fail: at 002 the models (with is_active) differ."""
    command.upgrade(migrations, "002")
    migrations.attributes["connection"].commit()
    with pytest.raises(CommandError, match="Target database is not up to date"):
        command.check(migrations)


def test_offline_sql_renders_the_whole_chain(migrations, database_url):
    migrations.attributes.pop("connection")
    buffer = io.StringIO()
    migrations.stdout = buffer
    migrations.output_buffer = buffer
    command.upgrade(migrations, "head", sql=True)
    sql = buffer.getvalue()
    assert "CREATE TABLE users" in sql and "CREATE TABLE posts" in sql
    assert "REFERENCES users (id) ON DELETE CASCADE" in sql
    assert "ALTER TABLE users ADD COLUMN is_active BOOLEAN" in sql
    assert "UPDATE alembic_version SET version_num='003'" in sql
    buffer.truncate(0)
    command.downgrade(migrations, "head:base", sql=True)
    assert "DROP TABLE users" in buffer.getvalue()


def test_cli_with_a_password_holding_percent_and_at():
    """The real `alembic` command, DATABASE_URL with a percent-encoded password, a server
    that checks passwords: env.py must hand the URL to SQLAlchemy intact."""
    password = "p%@ss:w/rd"
    with EmbeddedServer(password=password) as server:
        url = server.url.render_as_string(hide_password=False)
        assert "p%25%40ss%3Aw%2Frd" in url
        env = {**os.environ, "DATABASE_URL": url}
        for args in (["upgrade", "head"], ["current"]):
            result = subprocess.run(
                [sys.executable, "-m", "alembic", *args],
                cwd=REPO, env=env, capture_output=True, text=True,
            )
            assert result.returncode == 0, result.stderr
            assert password not in result.stdout + result.stderr
        assert "003 (head)" in result.stdout
        with sa.create_engine(server.url).connect() as conn:
            assert conn.exec_driver_sql("select version_num from alembic_version").scalar() == "003"


def test_naming_convention_names_every_constraint(migrations, db):
    command.upgrade(migrations, "head")
    migrations.attributes["connection"].commit()
    schema = schema_of(db.engine)
    assert schema["users"][1] == [("ix_users_email", ("email",), True)]
    assert schema["posts"][2] == [("fk_posts_user_id_users", "users", "CASCADE")]
    assert {schema[t][3] for t in ("users", "posts")} == {"pk_users", "pk_posts"}


def test_every_downgrade_is_real(migrations):
    """No revision ships an empty downgrade."""
    for rev in ScriptDirectory.from_config(migrations).walk_revisions():
        source = open(rev.path).read()
        body = source.split("def downgrade", 1)[1]
        assert "op." in body, f"{rev.revision} has no downgrade"


def test_replicas_migrate_one_at_a_time(db):
    """While one migrator holds env.py's advisory lock, another waits for it (and then
    finds nothing to do): replicas that start at once take turns."""
    from migrationlab import Lab
    from migrationlab.project import Project

    lab = Lab(project=Project.repo())
    try:
        holder = lab.session("replica 1")
        holder.sql("select pg_advisory_lock(7413926001)")
        replica = lab.start("upgrade head")
        blocked = lab.query("select 1")  # the lab's own connection is not held up
        assert blocked == [(1,)]
        replica.migration.wait_until_blocked(lab.engine)
        assert lab.query(
            "select wait_event from pg_stat_activity where application_name = 'lab: migration'"
        ) == [("advisory",)]
        holder.sql("select pg_advisory_unlock(7413926001)")
        assert replica.finish().ok
        holder.close()
    finally:
        lab.close()


def test_a_migration_gives_up_after_lock_timeout(db):
    """A migration that can't get its lock within lock_timeout fails (and rolls back)
    instead of queueing the app's queries behind it; with no limit it waits."""
    from migrationlab import Lab

    lab = Lab(scratch=True)
    try:
        lab.alembic("upgrade head")
        lab.write_revision("004", "add nickname", parent="003",
                           upgrade='op.add_column("users", sa.Column("nickname", sa.String(50)))',
                           downgrade='op.drop_column("users", "nickname")')
        report = lab.session("report")
        report.sql("begin")
        report.sql("select count(*) from users")
        failed = lab.project.alembic("-x lock_timeout=100ms upgrade head", lab.db.url, in_process=False)
        assert not failed.ok and "canceling statement due to lock timeout" in failed.output
        assert lab.versions() == ["003"]
        waiting = lab.start("-x lock_timeout=0 upgrade head")
        waiting.wait_until_blocked()
        report.commit()
        assert waiting.finish().ok and lab.versions() == ["004"]
        report.close()
    finally:
        lab.close()


def test_the_migrations_pass_the_linter():
    """squawk, with the repository's .squawk.toml (its exclusions give their reasons),
    finds nothing in the SQL of every migration: the CI job of notebook 11 runs the same."""
    from migrationlab.project import Project

    repo = Project.repo()
    url = make_url("postgresql+psycopg2://lint@localhost/lint")  # offline: only the dialect counts
    sql = repo.render_sql("upgrade base:head", url)
    assert "CREATE TABLE users" in sql
    assert repo.lint(sql, "migrations.sql") == []
    assert repo.lint(sql + "\nCREATE INDEX ix_users_name ON users (name);\n", "migrations.sql")
