"""A fresh database for each user of the server: each notebook, each test."""

from __future__ import annotations

import atexit
import secrets

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from migrationlab.config import LabSettings
from migrationlab.owner import Owner
from migrationlab.servers import Server, admin_engine, start_server

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
    def create(cls, server_url: URL | str, name: str | None = None) -> Sandbox:
        """Create a fresh, empty database on the server (first dropping any whose owner died)."""
        server_url = make_url(server_url)
        admin = admin_engine(server_url)
        reap_databases(admin)
        name = name or f"lab_{secrets.token_hex(4)}"
        comment = COMMENT_PREFIX + Owner.me().dump()
        with admin.connect() as conn:
            # FILE_COPY copies the tiny template as files: about 7 ms here, where the
            # default (WAL_LOG, block by block through the WAL) takes about 80 ms.
            strategy = " STRATEGY FILE_COPY" if conn.dialect.server_version_info >= (15,) else ""
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0{strategy}')
            # psycopg2 binds client-side, so a utility statement takes a parameter.
            conn.execute(sa.text(f'COMMENT ON DATABASE "{name}" IS :comment'), {"comment": comment})
        return cls(server_url, name)

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
        return f"<Sandbox {self.url.render_as_string(hide_password=True)}>"


def reap_databases(admin: Engine) -> list[str]:
    """Drop sandbox databases whose owner process is dead (a kernel killed with SIGKILL)."""
    query = sa.text(
        "select datname, shobj_description(oid, 'pg_database') from pg_database "
        "where starts_with(shobj_description(oid, 'pg_database'), :prefix)"
    )
    reaped = []
    with admin.connect() as conn:
        for name, comment in conn.execute(query, {"prefix": COMMENT_PREFIX}).all():
            owner = Owner.parse(comment[len(COMMENT_PREFIX):])
            if owner is not None and not owner.is_alive():
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                reaped.append(name)
    return reaped


_own_server: Server | None = None


def server_url() -> URL:
    """The lab's server for this process: the one handed down in LAB_SERVER_URL, or one
    this process starts, owns and stops at exit (a watchdog covers a SIGKILL)."""
    global _own_server
    handed_down = LabSettings().server_url
    if handed_down:
        from migrationlab.servers import ExternalServer

        return ExternalServer(handed_down).url
    if _own_server is None:
        _own_server = start_server()
        atexit.register(_own_server.stop)
    return _own_server.url


def sandbox() -> Sandbox:
    """A fresh database on the lab's server, dropped when this process exits."""
    db = Sandbox.create(server_url())
    atexit.register(db.close)
    return db


