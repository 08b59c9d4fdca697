"""A team server shared by many learners (LAB_BACKEND=server): each learner's databases
are theirs alone, and a learner whose kernel died never blocks another's start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa

from migrationlab.errors import LabError
from migrationlab.infra.embedded import EmbeddedServer
from migrationlab.infra.sandbox import Sandbox, reap_databases
from migrationlab.infra.servers import ExternalServer, admin_engine
from tests.conftest import REPO


@pytest.fixture(scope="module")
def team_server():
    """A server with two learners' roles, alice and bob, who may create databases."""
    with EmbeddedServer() as server:
        with sa.create_engine(server.url).begin() as conn:
            for role in ("alice", "bob"):
                conn.exec_driver_sql(f"create role {role} login createdb")
        yield server


def as_role(server, role: str) -> sa.engine.URL:
    return server.url.set(username=role)


def databases(server) -> dict[str, str]:
    with sa.create_engine(server.url).connect() as conn:
        rows = conn.exec_driver_sql(
            "select datname, pg_get_userbyid(datdba) from pg_database where datname like 'lab_%%'"
        ).all()
    return dict(rows)


def test_a_learners_database_is_theirs_alone(team_server):
    with Sandbox.create(as_role(team_server, "alice")) as mine:
        assert databases(team_server)[mine.name] == "alice"
        bobs_view = sa.create_engine(mine.url.set(username="bob"), poolclass=sa.pool.NullPool)
        with pytest.raises(sa.exc.OperationalError, match="CONNECT privilege"):
            bobs_view.connect()
        with mine.engine.connect() as conn:  # alice herself gets in
            assert conn.exec_driver_sql("select current_user").scalar() == "alice"


def kernel_killed_while_holding_a_database(url: sa.engine.URL) -> str:
    """A learner's kernel creates its database, then dies by SIGKILL (atexit never runs)."""
    code = f"""
        import time
        from migrationlab.infra.sandbox import Sandbox
        print(Sandbox.create({url.render_as_string(hide_password=False)!r}).name, flush=True)
        time.sleep(60)
    """
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    name = proc.stdout.readline().strip()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return name


def test_a_dead_learner_never_blocks_another(team_server):
    dead = kernel_killed_while_holding_a_database(as_role(team_server, "alice"))
    # bob may not drop alice's database: his start leaves it alone and succeeds.
    with Sandbox.create(as_role(team_server, "bob")) as bobs:
        assert bobs.name in databases(team_server)
    assert dead in databases(team_server)
    # alice's own next start reaps it.
    with Sandbox.create(as_role(team_server, "alice")):
        assert dead not in databases(team_server)


def test_make_reap_drops_this_hosts_dead_databases_on_a_shared_server(team_server):
    url = as_role(team_server, "alice")
    dead = kernel_killed_while_holding_a_database(url)
    env = {**os.environ, "LAB_BACKEND": "server", "LAB_SERVER_URL": url.render_as_string(hide_password=False)}
    result = subprocess.run([sys.executable, "-m", "migrationlab", "reap"], cwd=REPO, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"reaped database {dead}" in result.stdout
    assert dead not in databases(team_server)


def test_one_learner_never_reaps_anothers_and_reaping_skips_what_it_cannot_drop(team_server):
    dead = kernel_killed_while_holding_a_database(as_role(team_server, "alice"))
    assert dead not in reap_databases(admin_engine(as_role(team_server, "bob")))
    # A superuser's session on it: alice may not end that session, so it can't be dropped
    # now. Reaping goes on without it, and takes it later.
    superuser = sa.create_engine(team_server.url.set(database=dead), poolclass=sa.pool.NullPool)
    with superuser.connect():
        assert reap_databases(admin_engine(as_role(team_server, "alice"))) == []
    assert dead in reap_databases(admin_engine(as_role(team_server, "alice")))


def test_a_plain_postgresql_url_uses_the_installed_driver(team_server):
    """SQLAlchemy 2.1 reads postgresql:// as psycopg 3, which the kit does not install."""
    url = team_server.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with Sandbox.create(url) as db, db.engine.connect() as conn:
        assert conn.dialect.driver == "psycopg2"
    assert ExternalServer(url).url.drivername == "postgresql+psycopg2"


def test_a_string_that_is_no_url_is_one_line():
    with pytest.raises(LabError, match="is not a database URL"):
        Sandbox.create("localhost:5432")
