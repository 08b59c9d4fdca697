"""A fresh database for each user of the server: each notebook, each test, each terminal.

A sandbox database belongs to the role that created it, and nobody else may
connect to it (on a shared team server, learners don't see each other's work).
Its comment names its owner process, so the database of a kernel killed by
SIGKILL is dropped at the next creation on that server (or by `make reap`).
"""

from __future__ import annotations

import atexit
import secrets
import threading

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from migrationlab.errors import LabError
from migrationlab.infra.ownership import Owner
from migrationlab.infra.servers import ExternalServer, Server, admin_engine, start_server
from migrationlab.infra.settings import lab_settings
from migrationlab.infra.urls import server_url, shown

COMMENT_PREFIX = "migrationlab sandbox "


class Sandbox:
    """A database created for one user and dropped when closed.

    Example::

        with EmbeddedServer() as server, Sandbox.create(server.url) as db:
            with db.engine.connect() as conn:
                conn.exec_driver_sql("create table t (id int)")
    """

    def __init__(self, server_url: URL, name: str) -> None:
        self.server_url = server_url
        self.name = name
        self.url = server_url.set(database=name)
        self.engine: Engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        self.closed = False

    @classmethod
    def create(cls, server: URL | str, name: str | None = None) -> Sandbox:
        """Create a fresh, empty database on the server, private to this role (first
        dropping this role's databases whose owner died)."""
        url = server_url(server)
        admin = admin_engine(url)
        reap_databases(admin)
        name = name or f"lab_{secrets.token_hex(4)}"
        comment = COMMENT_PREFIX + Owner.me().dump()
        with admin.connect() as conn:
            # FILE_COPY copies the tiny template as files: about 7 ms here, where the
            # default (WAL_LOG, block by block through the WAL) takes about 80 ms.
            strategy = " STRATEGY FILE_COPY" if (conn.dialect.server_version_info or (0,)) >= (15,) else ""
            try:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0{strategy}')
            except sa.exc.ProgrammingError as error:
                if "permission denied" in str(error.orig):
                    raise LabError(
                        f"the role {url.username!r} at {shown(url)} may not create databases; "
                        f"ALTER ROLE {url.username} CREATEDB (as a superuser), or use another role"
                    ) from None
                raise
            # Other roles on a shared server may not even connect (PUBLIC may, by default).
            conn.exec_driver_sql(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC')
            # psycopg2 binds client-side, so a utility statement takes a parameter.
            conn.execute(sa.text(f'COMMENT ON DATABASE "{name}" IS :comment'), {"comment": comment})
        return cls(url, name)

    def close(self) -> None:
        """Drop the database (closing any connection still open on it). Idempotent."""
        if self.closed:
            return
        self.closed = True
        atexit.unregister(self.close)
        self.engine.dispose()
        with admin_engine(self.server_url).connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Sandbox {shown(self.url)}>"


def reap_databases(admin: Engine) -> list[str]:
    """Drop this role's sandbox databases whose owner process is dead (a kernel killed
    with SIGKILL). Another role's databases are left alone, and one that can't be
    dropped now is left for later: reaping never stops a learner's start."""
    query = sa.text(
        "select datname, shobj_description(oid, 'pg_database') from pg_database "
        "where starts_with(shobj_description(oid, 'pg_database'), :prefix) "
        "and pg_has_role(datdba, 'MEMBER')"
    )
    reaped = []
    with admin.connect() as conn:
        for name, comment in conn.execute(query, {"prefix": COMMENT_PREFIX}).all():
            owner = Owner.parse(comment[len(COMMENT_PREFIX):])
            if owner is None or owner.is_alive():
                continue
            try:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            except sa.exc.DBAPIError:
                continue
            reaped.append(name)
    return reaped


_own_server: Server | None = None
_checked: set[str] = set()
_lock = threading.Lock()


def lab_server_url() -> URL:
    """The lab's server for this process: the one handed down in LAB_SERVER_URL (checked
    once, so a wrong one is a one-line LabError), or one this process starts, owns and
    stops at exit (a watchdog covers a SIGKILL)."""
    global _own_server
    handed_down = lab_settings().server_url
    with _lock:
        if handed_down:
            server = ExternalServer(handed_down)
            key = server.url.render_as_string(hide_password=False)
            if key not in _checked:
                server.start()
                _checked.add(key)
            return server.url
        if _own_server is None:
            _own_server = start_server()
            atexit.register(_own_server.stop)
        return _own_server.url


def sandbox() -> Sandbox:
    """A fresh database on the lab's server, dropped when this process exits."""
    db = Sandbox.create(lab_server_url())
    atexit.register(db.close)
    return db
