"""scripts/deploy.sh on a real database: it backs up before migrating, the backup
restores, it stops at the first failure, and it never prints the password."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from migrationlab.infra.embedded import embedded_bin_dir
from migrationlab.infra.sandbox import Sandbox, lab_server_url
from migrationlab.project import Project

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "deploy.sh"
# As on a server with the app's virtualenv active: alembic on PATH.
PATH = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"


@pytest.fixture
def db():
    database = Sandbox.create(lab_server_url())
    yield database
    database.close()


@pytest.fixture
def at_002(db):
    """A database at 002 (before is_active) with a user and a post: production before a release."""
    migrate(db, "upgrade 002")
    with db.engine.begin() as conn:
        conn.exec_driver_sql("insert into users (email, name) values ('ada@example.com', 'Ada')")
        conn.exec_driver_sql("insert into posts (title, user_id) values ('Hello', 1)")
    return db


def migrate(db: Sandbox, args: str, project: Project | None = None) -> None:
    """Set a database up quickly (in-process alembic); the deploy itself runs the CLI."""
    result = (project or Project.repo()).alembic(args, db.url)
    assert result.ok, result.output


def run(argv: list[str], url: URL | None, *, cwd: Path = REPO, **env: str):
    environ = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        "PATH": PATH,
        "PYTHONDONTWRITEBYTECODE": "1",
        "DEPLOY_PULL_CMD": "",
        "DEPLOY_INSTALL_CMD": "",
        "DEPLOY_RESTART_CMD": "",
        **env,
    }
    if url is not None:
        environ["DATABASE_URL"] = url.render_as_string(hide_password=False)
    return subprocess.run(
        argv, cwd=cwd, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def deploy(url: URL | None, tmp_path: Path, *args: str, **env: str):
    env.setdefault("BACKUP_DIR", str(tmp_path / "backups"))
    return run(["bash", str(SCRIPT), *args], url, cwd=tmp_path, **env)


def version(db: Sandbox) -> str | None:
    with db.engine.connect() as conn:
        return conn.exec_driver_sql("select version_num from alembic_version").scalar()


def columns(db: Sandbox, table: str) -> list[str]:
    return [c["name"] for c in sa.inspect(db.engine).get_columns(table)]


def restore(backup: Path, db: Sandbox) -> None:
    uri = db.url.set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(
        [embedded_bin_dir() / "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction",
         "-o", os.devnull, "-f", backup, "-d", uri],
        check=True,
    )


def test_backs_up_then_migrates_and_the_backup_restores(at_002, tmp_path):
    marker = tmp_path / "restarted"
    result = deploy(at_002.url, tmp_path, BACKUP_NAME="before.sql",
                    DEPLOY_RESTART_CMD=f"touch {marker}")
    assert result.returncode == 0, result.stdout
    backup = tmp_path / "backups" / "before.sql"
    out = result.stdout
    assert f"Backup saved: {backup}" in out
    assert out.index("Backup saved") < out.index("Running migrations") < out.index("003 (head)")
    assert out.rstrip().endswith(f"Deployment complete! The backup from before migrating is {backup}")
    assert version(at_002) == "003" and "is_active" in columns(at_002, "users")
    assert marker.exists()  # restart ran, after the migration
    assert oct(backup.stat().st_mode & 0o777) == "0o600"

    # The backup is the database before the release: restored into a fresh database...
    with Sandbox.create(lab_server_url()) as fresh:
        restore(backup, fresh)
        assert version(fresh) == "002" and "is_active" not in columns(fresh, "users")
        with fresh.engine.connect() as conn:
            assert conn.exec_driver_sql("select email from users").scalars().all() == [
                "ada@example.com"
            ]

    # ...and over the damaged one (the dump drops what is there first).
    migrate(at_002, "downgrade base")
    restore(backup, at_002)
    assert version(at_002) == "002"
    with at_002.engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from posts").scalar() == 1


def test_default_backup_name_has_a_timestamp(at_002, tmp_path):
    result = deploy(at_002.url, tmp_path)
    assert result.returncode == 0, result.stdout
    (backup,) = (tmp_path / "backups").iterdir()
    assert backup.name.startswith("backup_") and backup.suffix == ".sql"
    assert len(backup.stem) == len("backup_20260210_090000")


def test_a_failing_backup_stops_before_migrating(at_002, tmp_path):
    fake = tmp_path / "pg_dump"
    fake.write_text("#!/bin/sh\necho 'pg_dump: error: disk full' >&2\nexit 1\n")
    fake.chmod(0o755)
    marker = tmp_path / "restarted"
    result = deploy(at_002.url, tmp_path, PG_DUMP=str(fake), DEPLOY_RESTART_CMD=f"touch {marker}")
    assert result.returncode != 0
    assert "pg_dump: error: disk full" in result.stdout
    assert "FAILED while backing up the database" in result.stdout
    assert "Running migrations" not in result.stdout
    assert version(at_002) == "002"
    assert not marker.exists()
    assert list((tmp_path / "backups").iterdir()) == []  # no half-written backup left


def test_a_failing_migration_stops_and_says_where_the_backup_is(db, tmp_path):
    project = tmp_path / "project"
    for name in ("app", "alembic"):
        shutil.copytree(REPO / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "alembic.ini", project / "alembic.ini")
    (project / "alembic" / "versions" / "004_broken.py").write_text(
        'revision = "004"\ndown_revision = "003"\n'
        "from alembic import op\n"
        "def upgrade():\n"
        "    op.execute(\"alter table users add column nickname text\")\n"
        "    op.execute(\"alter table users alter column nickname set not null\")\n"
        "def downgrade():\n    pass\n"
    )
    migrate(db, "upgrade 003", Project(project))
    with db.engine.begin() as conn:
        conn.exec_driver_sql("insert into users (email, name) values ('ada@example.com', 'Ada')")

    marker = tmp_path / "restarted"
    result = deploy(db.url, tmp_path, APP_DIR=str(project), BACKUP_NAME="before_004.sql",
                    DEPLOY_RESTART_CMD=f"touch {marker}")
    backup = tmp_path / "backups" / "before_004.sql"
    assert result.returncode != 0
    assert 'column "nickname" of relation "users" contains null values' in result.stdout
    assert "FAILED while running migrations (alembic upgrade head)" in result.stdout
    assert f"the backup from before migrating is {backup}" in result.stdout
    assert backup.exists()
    assert version(db) == "003" and "nickname" not in columns(db, "users")
    assert not marker.exists()


def test_refuses_to_overwrite_a_backup(at_002, tmp_path):
    (tmp_path / "backups").mkdir()
    (tmp_path / "backups" / "before.sql").write_text("an older backup\n")
    result = deploy(at_002.url, tmp_path, BACKUP_NAME="before.sql")
    assert result.returncode != 0
    assert "refusing to overwrite a backup" in result.stdout
    assert (tmp_path / "backups" / "before.sql").read_text() == "an older backup\n"
    assert version(at_002) == "002"


def test_missing_database_url_is_one_clear_line(tmp_path):
    result = deploy(None, tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "deploy.sh: DATABASE_URL is not set; export the app's database URL (as in its .env) "
        "and run again"
    ]
    assert not (tmp_path / "backups").exists()


PASSWORD = "S3cr%t@pg"


def test_the_password_is_never_printed(at_002, tmp_path):
    if at_002.url.password:
        pytest.skip("this server checks its own password (docker or shared server)")
    # The embedded server trusts local connections, so check what pg_dump is given
    # on its way: the decoded password in PGPASSWORD, never on its command line.
    wrapper = tmp_path / "pg_dump"
    wrapper.write_text(
        "#!/bin/bash\n"
        f"[ \"$PGPASSWORD\" = '{PASSWORD}' ] || {{ echo 'wrong PGPASSWORD' >&2; exit 1; }}\n"
        'case "$*" in *S3cr*) echo "password on the command line" >&2; exit 1;; esac\n'
        f'exec {embedded_bin_dir() / "pg_dump"} "$@"\n'
    )
    wrapper.chmod(0o755)
    url = at_002.url.set(password=PASSWORD)
    assert "S3cr%25t%40pg" in url.render_as_string(hide_password=False)
    result = deploy(url, tmp_path, PG_DUMP=str(wrapper))
    assert result.returncode == 0, result.stdout
    assert version(at_002) == "003"
    assert "S3cr" not in result.stdout

    unreachable = URL.create("postgresql+psycopg2", "app", PASSWORD, "127.0.0.1", 1, "app")
    result = deploy(unreachable, tmp_path)
    assert result.returncode != 0 and "FAILED while backing up" in result.stdout
    assert "S3cr" not in result.stdout

    result = deploy(None, tmp_path, DATABASE_URL=f"mysql://app:{PASSWORD}@db/app")
    assert result.stdout.splitlines() == ["deploy.sh: DATABASE_URL is not a postgresql:// URL"]


def test_dry_run_prints_the_sql_and_changes_nothing(at_002, tmp_path):
    environ = {**os.environ, "PATH": PATH, "PYTHONDONTWRITEBYTECODE": "1",
               "DATABASE_URL": at_002.url.render_as_string(hide_password=False),
               "BACKUP_DIR": str(tmp_path / "backups")}
    result = subprocess.run(["bash", str(SCRIPT), "--dry-run"], cwd=tmp_path, env=environ,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    sql = result.stdout  # only the SQL: messages go to stderr
    assert sql.startswith("BEGIN;") and sql.rstrip().endswith("COMMIT;")
    assert "ALTER TABLE users ADD COLUMN is_active BOOLEAN;" in sql
    assert "CREATE TABLE users" not in sql  # from the database's revision, not from base
    assert "alembic upgrade 002:head --sql" in result.stderr
    assert version(at_002) == "002"
    assert not (tmp_path / "backups").exists()

    migrate(at_002, "upgrade head")
    result = subprocess.run(["bash", str(SCRIPT), "--dry-run"], cwd=tmp_path, env=environ,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "The database is at 003, already the head: nothing to migrate" in result.stderr


def test_dry_run_on_an_empty_database_renders_the_whole_history(db, tmp_path):
    result = deploy(db.url, tmp_path, "--dry-run")
    assert result.returncode == 0, result.stdout
    assert "The database is at no revision (empty)" in result.stdout
    assert "alembic upgrade head --sql" in result.stdout
    assert "CREATE TABLE users" in result.stdout
    assert version_table_missing(db)


def version_table_missing(db: Sandbox) -> bool:
    return "alembic_version" not in sa.inspect(db.engine).get_table_names()


def test_a_plain_postgresql_url_picks_the_pg_dump_of_the_servers_version(at_002, tmp_path):
    """DATABASE_URL as psql writes it (postgresql://, as `make lab` hands it out): the
    server is still asked for its version, so a newer pg_dump on PATH is not chosen."""
    newer = tmp_path / "bin" / "pg_dump"
    newer.parent.mkdir()
    newer.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 99.0'\n")
    newer.chmod(0o755)
    with at_002.engine.connect() as conn:
        major = int(conn.exec_driver_sql("show server_version_num").scalar()) // 10000
    plain = at_002.url.set(drivername="postgresql")
    result = deploy(plain, tmp_path, "--dry-run", PATH=f"{newer.parent}{os.pathsep}{PATH}")
    assert result.returncode == 0, result.stdout
    result = deploy(plain, tmp_path, BACKUP_NAME="b.sql", PATH=f"{newer.parent}{os.pathsep}{PATH}")
    assert f"Backing up the database: pg_dump {major}" in result.stdout, result.stdout
