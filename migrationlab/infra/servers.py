"""Disposable PostgreSQL servers, one API whatever runs them.

Each server is a context manager with a ``url`` (the ``postgres`` database, for
creating sandboxes). Whoever starts one owns it and stops it; others get its
URL through ``LAB_SERVER_URL``. ``start_server()`` starts the one the settings
ask for: embedded (migrationlab.infra.embedded), a Docker container
(migrationlab.infra.container), or an external server that is already running.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL

from migrationlab.errors import LabError
from migrationlab.infra.settings import lab_settings
from migrationlab.infra.urls import server_url, shown


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
        return f"<{type(self).__name__} {shown(url) if url is not None else 'not started'}>"


class ExternalServer(Server):
    """A server someone else runs (a shared team server, or one handed down by its owner).

    Nothing is started or stopped; sandboxes are databases created on it and
    dropped after. Example::

        with ExternalServer("postgresql://lab:secret@db.internal:5432/postgres") as server:
            print(server)   # the password is never shown
    """

    def __init__(self, url: str | URL, source: str = "LAB_SERVER_URL") -> None:
        self.url = server_url(url, source)
        self.source = source

    def start(self) -> ExternalServer:
        check_server(self.url, self.source)
        return self

    def stop(self) -> None:
        forget_admin_engine(self.url)  # the server itself is not ours to stop


def start_server(backend: str | None = None) -> Server:
    """Start (or connect to) the server the settings ask for; the caller owns it."""
    settings = lab_settings()
    backend = backend or settings.backend
    if backend == "server" or (backend == "auto" and settings.server_url):
        if not settings.server_url:
            raise LabError(
                "LAB_BACKEND=server needs a server: set "
                "LAB_SERVER_URL=postgresql://USER:PASSWORD@HOST:5432/postgres"
            )
        return ExternalServer(settings.server_url).start()
    if backend == "docker" or (backend == "auto" and docker_answers()):
        from migrationlab.infra.container import DockerServer

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
    from migrationlab.infra.embedded import EmbeddedServer

    return EmbeddedServer(port=settings.embedded_port).start()


def docker_answers() -> bool:
    """True if a Docker engine answers within a few seconds."""
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(
            ["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, timeout=3
        ).returncode == 0
    except subprocess.TimeoutExpired:
        return False


# -- connections ------------------------------------------------------------------

_admin_engines: dict[str, sa.Engine] = {}
_admin_lock = threading.Lock()


def admin_engine(url: URL) -> sa.Engine:
    """The engine that creates and drops sandbox databases on a server. Pooled and in
    autocommit: CREATE/DROP DATABASE can't run in a transaction, and reusing the
    connection keeps a fresh database fast."""
    key = url.render_as_string(hide_password=False)
    with _admin_lock:
        if key not in _admin_engines:
            _admin_engines[key] = sa.create_engine(
                url, isolation_level="AUTOCOMMIT", pool_size=1, pool_pre_ping=True
            )
        return _admin_engines[key]


def forget_admin_engine(url: URL) -> None:
    """Close the pooled admin connection to a server that is going away."""
    with _admin_lock:
        engine = _admin_engines.pop(url.render_as_string(hide_password=False), None)
    if engine is not None:
        engine.dispose()


def check_server(url: URL, source: str = "LAB_SERVER_URL") -> None:
    """Connect once and check the role may create databases; turn the usual failures
    into one line with the fix."""
    where = shown(url)
    try:
        with connect(url) as conn:
            may_create = conn.exec_driver_sql(
                "select rolcreatedb or rolsuper from pg_roles where rolname = current_user"
            ).scalar()
    except sa.exc.OperationalError as error:
        raise LabError(connection_problem(error, where, source)) from None
    if not may_create:
        raise LabError(
            f"the role {url.username!r} at {where} may not create databases, and each learner "
            f"gets databases of their own; ALTER ROLE {url.username} CREATEDB (as a superuser), "
            f"or use another role in {source}"
        )


def connection_problem(error: sa.exc.OperationalError, where: str, source: str) -> str:
    """One line for a failed connection: the usual causes, with the fix."""
    text = str(error.orig).lower()
    if "password authentication failed" in text or "no password supplied" in text:
        return f"wrong user or password for {where}; fix the credentials in {source}"
    if "does not exist" in text and "database" in text:
        return f"the database in {where} does not exist; point {source} at .../postgres"
    if "does not exist" in text and "role" in text:
        return f"the user in {where} does not exist; fix the user in {source}"
    if "permission denied" in text or "not permitted" in text:
        return f"the server at {where} refused the connection (no CONNECT privilege); fix {source}"
    return f"no PostgreSQL answers at {where}; start the server or fix host and port in {source}"


def connect(url: URL, timeout: int = 5) -> sa.Connection:
    """A single connection, outside any pool (for checks)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args={"connect_timeout": timeout})
    try:
        return engine.connect()
    finally:
        engine.dispose()


def answers(url: URL) -> bool:
    """True if a connection to URL succeeds now."""
    try:
        connect(url).close()
        return True
    except sa.exc.OperationalError:
        return False


_tools: dict[str, Path] = {}


def client_tools(url: URL) -> Path:
    """The PostgreSQL client tools (psql, pg_dump) for the server at URL: the same major
    version if this machine has it (a newer pg_dump writes settings an older server
    cannot restore, such as 18's SET transaction_timeout on 15), else the embedded
    wheel's (PostgreSQL 18)."""
    from migrationlab.infra.embedded import embedded_bin_dir

    key = url.set(database="postgres").render_as_string(hide_password=False)
    if key not in _tools:
        with connect(url) as conn:
            major = int(str(conn.exec_driver_sql("show server_version_num").scalar())) // 10000
        same = Path(f"/usr/lib/postgresql/{major}/bin")
        found = (same / "pg_dump").exists() and (same / "psql").exists()
        _tools[key] = same if found else embedded_bin_dir()
    return _tools[key]
