"""The disposable PostgreSQL: backends, fresh databases, ownership, reaping, errors.

Runs with whatever backend the session uses (embedded by default; `make test-docker`
runs it again with LAB_BACKEND=docker); the embedded server is also tested directly.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa

from migrationlab.errors import LabError
from migrationlab.infra.embedded import EmbeddedServer
from migrationlab.infra.ownership import reap_dirs, runtime_root
from migrationlab.infra.sandbox import Sandbox, reap_databases
from migrationlab.infra.servers import ExternalServer, admin_engine, docker_answers, start_server
from tests.conftest import REPO


def postgres_processes_in(directory: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and str(directory) in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def wait_until(condition, timeout=10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def spawn(code: str, **env: str) -> subprocess.Popen:
    """A Python process running CODE that prints one JSON line when ready."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE, text=True, cwd=REPO, env={**os.environ, **env},
    )


# -- the embedded backend --------------------------------------------------------

def test_embedded_server_starts_answers_and_leaves_nothing():
    with EmbeddedServer() as server:
        directory = server.directory
        with sa.create_engine(server.url).connect() as conn:
            assert conn.exec_driver_sql("show server_version_num").scalar() >= "180000"
        assert postgres_processes_in(directory)
    assert not directory.exists()
    assert wait_until(lambda: not postgres_processes_in(directory))


def test_embedded_server_with_password_rejects_a_wrong_one():
    with EmbeddedServer(password="s3cret") as server:
        with pytest.raises(LabError, match="wrong user or password") as error:
            ExternalServer(server.url.set(password="nope")).start()
        assert "s3cret" not in str(error.value) and "nope" not in str(error.value)
        assert "s3cret" not in repr(server)


def test_port_in_use_is_one_clear_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(LabError, match=f"port {port} on 127.0.0.1 is in use"):
            EmbeddedServer(port=port).start()


def test_embedded_server_can_also_listen_on_a_port_with_a_password():
    """On 127.0.0.1 any local user could connect: there a password is required (kept in
    a private file); the private socket stays password-free."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with EmbeddedServer(port=port) as server:
        tcp = sa.engine.URL.create("postgresql+psycopg2", username="postgres", host="127.0.0.1",
                                   port=port, database="postgres")
        with pytest.raises(sa.exc.OperationalError, match="password"):
            sa.create_engine(tcp).connect()
        assert oct(server.password_file.stat().st_mode & 0o777) == "0o600"
        password = server.password_file.read_text().strip()
        with sa.create_engine(tcp.set(password=password)).connect() as conn:
            assert conn.exec_driver_sql("select 1").scalar() == 1
        with sa.create_engine(server.url).connect() as conn:  # the socket, no password
            assert conn.exec_driver_sql("select 1").scalar() == 1


# -- fresh databases ---------------------------------------------------------------

def test_each_sandbox_is_a_fresh_empty_database(db):
    with db.engine.begin() as conn:
        conn.exec_driver_sql("create table mine (id int)")
    with Sandbox.create(db.server_url) as other:
        assert other.name != db.name
        assert sa.inspect(other.engine).get_table_names() == []
    assert sa.inspect(db.engine).get_table_names() == ["mine"]


def test_closing_a_sandbox_drops_its_database_even_with_connections_open(db):
    sandbox = Sandbox.create(db.server_url)
    held = sandbox.engine.connect()  # a notebook that forgot to close
    sandbox.close()
    held.invalidate()
    with admin_engine(db.server_url).connect() as conn:
        names = conn.exec_driver_sql("select datname from pg_database").scalars().all()
    assert sandbox.name not in names


# -- ownership: nothing outlives its owner -------------------------------------------

OWN_SERVER = """
    import json, os
    from migrationlab.infra.sandbox import sandbox
    import migrationlab.infra.sandbox as s
    db = sandbox()
    own = s._own_server
    print(json.dumps({"dir": str(own.directory), "watchdog": own._watchdog.pid}), flush=True)
    {rest}
"""


def start_owner(rest: str) -> tuple[subprocess.Popen, dict]:
    env = {k: v for k, v in os.environ.items() if k != "LAB_SERVER_URL"}
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(OWN_SERVER).replace("{rest}", rest)],
        stdout=subprocess.PIPE, text=True, cwd=REPO, env={**env, "LAB_BACKEND": "embedded"},
    )
    info = json.loads(proc.stdout.readline())
    return proc, {"dir": Path(info["dir"]), "watchdog": info["watchdog"]}


def test_owner_exiting_normally_stops_its_server():
    proc, info = start_owner("pass")
    proc.wait(30)
    assert wait_until(lambda: not info["dir"].exists() and not postgres_processes_in(info["dir"]))


def test_owner_killed_with_sigkill_is_cleaned_up_by_its_watchdog():
    proc, info = start_owner("import time; time.sleep(60)")
    assert postgres_processes_in(info["dir"])
    proc.send_signal(signal.SIGKILL)  # as nbval does to kernels: atexit never runs
    proc.wait()
    assert wait_until(lambda: not info["dir"].exists() and not postgres_processes_in(info["dir"]))


@pytest.fixture
def own_runtime_dir(monkeypatch):
    """A runtime directory of this test's own: in the shared one, another worker's next
    start would reap this test's orphan before the test looks at it."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="lab-"))  # short: socket paths are limited
    path.chmod(0o711)  # as root, the server's own user passes through it
    monkeypatch.setenv("LAB_RUNTIME_DIR", str(path))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_orphan_is_reaped_at_the_next_start_when_the_watchdog_died_too(own_runtime_dir):
    proc, info = start_owner("import time; time.sleep(60)")
    assert own_runtime_dir in info["dir"].parents
    os.kill(info["watchdog"], signal.SIGKILL)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.3)
    assert info["dir"].exists() and postgres_processes_in(info["dir"])  # a real orphan
    assert info["dir"] in reap_dirs()
    assert not info["dir"].exists()
    assert wait_until(lambda: not postgres_processes_in(info["dir"]))


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="only as root does the server run as another user")
def test_a_runtime_dir_the_server_user_cannot_enter_is_one_clear_line(own_runtime_dir):
    own_runtime_dir.chmod(0o700)
    with pytest.raises(LabError, match=f"cannot pass through {own_runtime_dir}; set LAB_RUNTIME_DIR"):
        EmbeddedServer().start()
    assert not list(runtime_root().glob("srv-*"))  # nothing left behind


def test_database_of_a_killed_kernel_is_reaped(db):
    """A kernel on a shared server (LAB_SERVER_URL) is SIGKILLed: its database is
    dropped at the next sandbox creation."""
    proc = spawn(
        """
        from migrationlab.infra.sandbox import sandbox
        import time
        print(sandbox().name, flush=True)
        time.sleep(60)
        """
    )
    name = proc.stdout.readline().strip()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert wait_until(lambda: name in reap_databases(admin_engine(db.server_url)) or not _exists(db, name))
    assert not _exists(db, name)


def _exists(db, name: str) -> bool:
    with admin_engine(db.server_url).connect() as conn:
        return conn.exec_driver_sql(
            "select count(*) from pg_database where datname = %(n)s", {"n": name}
        ).scalar() == 1


def test_a_test_session_leaves_no_server_running(tmp_path):
    """A whole pytest session owning its server: afterwards no process and no directory."""
    (tmp_path / "test_inner.py").write_text(
        "import os\n"
        "def test_inner():\n"
        "    assert os.environ['LAB_SERVER_URL']\n"
    )
    before = set(runtime_root().iterdir())
    env = {k: v for k, v in os.environ.items() if k != "LAB_SERVER_URL"}
    result = subprocess.run(
        # The repository's conftest.py (which owns the session's server) as a plugin,
        # since the inner test lives outside the repository.
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "conftest",
         "--rootdir", str(tmp_path), str(tmp_path / "test_inner.py")],
        cwd=REPO, env={**env, "LAB_BACKEND": "embedded"}, capture_output=True, text=True,
    )
    assert "1 passed" in result.stdout, result.stdout + result.stderr
    new = set(runtime_root().iterdir()) - before
    assert wait_until(lambda: not any(p.exists() for p in new))
    assert not any(postgres_processes_in(p) for p in new)


def test_serve_hands_the_server_to_its_command_and_stops_it():
    env = {k: v for k, v in os.environ.items() if k != "LAB_SERVER_URL"}
    script = (
        "import os, sqlalchemy as sa; url = os.environ['LAB_SERVER_URL'];"
        "sa.create_engine(url).connect().close(); print(sa.engine.make_url(url).query['host'])"
    )
    result = subprocess.run(
        [sys.executable, "-m", "migrationlab", "serve", "--", sys.executable, "-c", script],
        cwd=REPO, env={**env, "LAB_BACKEND": "embedded"}, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    socket_dir = Path(result.stdout.splitlines()[1])
    assert not socket_dir.parent.exists()


# -- one clear line for bad input -------------------------------------------------------

def test_unreachable_server_is_one_line_without_the_password():
    with pytest.raises(LabError) as error:
        ExternalServer("postgresql://lab:hunter2@127.0.0.1:1/postgres").start()
    message = str(error.value)
    assert message.startswith("no PostgreSQL answers at") and "\n" not in message
    assert "hunter2" not in message and "LAB_SERVER_URL" in message


def test_not_a_url_is_one_line():
    with pytest.raises(LabError, match="is not a database URL"):
        ExternalServer("localhost:5432")


def test_server_backend_without_a_url(monkeypatch):
    monkeypatch.setenv("LAB_BACKEND", "server")
    monkeypatch.delenv("LAB_SERVER_URL")
    with pytest.raises(LabError, match="LAB_BACKEND=server needs a server"):
        start_server()


def test_unknown_backend(monkeypatch):
    monkeypatch.delenv("LAB_SERVER_URL")
    with pytest.raises(Exception, match="backend"):
        start_server("podman")


@pytest.mark.skipif(docker_answers(), reason="a Docker engine answers here; tests/test_docker.py covers it")
def test_docker_asked_for_without_an_engine(monkeypatch):
    monkeypatch.delenv("LAB_SERVER_URL")
    with pytest.raises(LabError, match="no Docker engine answers"):
        start_server("docker")


def test_cli_error_is_one_line_not_a_traceback():
    env = {**os.environ, "LAB_BACKEND": "server"}
    env.pop("LAB_SERVER_URL")
    result = subprocess.run(
        [sys.executable, "-m", "migrationlab", "serve", "--", "true"],
        cwd=REPO, env=env, capture_output=True, text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("error: LAB_BACKEND=server needs a server")
