"""Alembic environment: SQLModel's metadata, and DATABASE_URL from the app's settings.

Code that already holds a database (tests, notebooks, pytest-alembic) can hand
in a Connection or an Engine as ``config.attributes["connection"]``, as in
Alembic's cookbook recipe "Sharing a Connection across one or more programmatic
migration commands"; otherwise the URL from the settings is used.
"""

from logging.config import fileConfig

from alembic import context
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, pool
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from app.core.config import get_settings
from app.models import metadata

config = context.config

if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = metadata


def run_migrations_offline() -> None:
    """Render the migrations as SQL (`alembic upgrade head --sql`), without a database."""
    context.configure(
        url=get_settings().DATABASE_URL,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection) -> None:
    """Run the migrations on a connection, in one transaction."""
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
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
