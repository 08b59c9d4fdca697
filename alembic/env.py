"""Alembic environment: SQLModel's metadata, and DATABASE_URL from the app's settings.

Code that already holds a database (tests, notebooks, pytest-alembic) can hand
in a Connection or an Engine as ``config.attributes["connection"]``, as in
Alembic's cookbook recipe "Sharing a Connection across one or more programmatic
migration commands"; otherwise the URL from the settings is used.

Two safeguards for production: a migration waits at most ``lock_timeout`` for a
lock (then fails, and can be run again) instead of making every query of the app
queue behind it; and replicas that start at once migrate one at a time.
"""

import os
import re
from logging.config import fileConfig

from alembic import context
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, pool, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from app.core.config import get_settings
from app.models import metadata

config = context.config

if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = metadata

# Any number, the same in every replica: pg_advisory_xact_lock(MIGRATION_LOCK) lets one
# replica migrate while the others wait, then find nothing left to do.
MIGRATION_LOCK = 7_413_926_001


def lock_timeout() -> str:
    """How long a migration may wait for a lock: `alembic -x lock_timeout=2s upgrade head`,
    else MIGRATION_LOCK_TIMEOUT, else 5s ("0" waits forever)."""
    default = os.environ.get("MIGRATION_LOCK_TIMEOUT", "5s")
    wait = context.get_x_argument(as_dictionary=True).get("lock_timeout", default)
    if not re.fullmatch(r"\d+(ms|s|min)?", wait):
        raise CommandError(f"lock_timeout={wait!r} is not a duration; write it as 5s, 500ms or 0")
    return wait


def run_migrations_offline() -> None:
    """Render the migrations as SQL (`alembic upgrade head --sql`), without a database."""
    context.configure(
        url=get_settings().DATABASE_URL,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.execute(f"SET LOCAL lock_timeout = '{lock_timeout()}'")
        context.run_migrations()


def do_run_migrations(connection) -> None:
    """Run the migrations on a connection, in one transaction, one migrator at a time."""
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        # Both last until this transaction ends (an autocommit_block() ends it early).
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        connection.execute(text("SELECT set_config('lock_timeout', :wait, true)"),
                           {"wait": lock_timeout()})
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the connection or engine handed in, or on DATABASE_URL."""
    connectable = config.attributes.get("connection", None)
    if connectable is None:
        # The URL goes straight to SQLAlchemy, never through the .ini parser,
        # so a percent-encoded password (p%40ss%25) survives intact.
        connectable = create_engine(get_settings().DATABASE_URL, poolclass=pool.NullPool)
    if isinstance(connectable, Engine):
        with connect(connectable) as connection:
            do_run_migrations(connection)
    else:
        do_run_migrations(connectable)


def connect(engine: Engine):
    """Connect, or stop with one line saying why and what to fix (not a traceback)."""
    try:
        return engine.connect()
    except OperationalError as error:
        where = make_url(engine.url).render_as_string(hide_password=True)
        reason = str(error.orig).strip().splitlines()[0]
        raise CommandError(
            f"cannot connect to {where} ({reason}); start the database, or set DATABASE_URL "
            "(in the environment or .env) to one that runs"
        ) from None


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
