"""Alembic environment: SQLModel's metadata, and DATABASE_URL from the settings.

Code that already holds a connection (tests, notebooks) hands it in as
``config.attributes["connection"]``; otherwise the URL from the settings is used.
"""

from contextlib import nullcontext
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool

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


def run_migrations_online() -> None:
    """Run the migrations on a connection: the one handed in, or a new one."""
    handed_in = config.attributes.get("connection")
    # The URL goes straight to SQLAlchemy, never through the .ini parser,
    # so a percent-encoded password (p%40ss%25) survives intact.
    with (
        nullcontext(handed_in)
        if handed_in is not None
        else create_engine(get_settings().DATABASE_URL, poolclass=pool.NullPool).connect()
    ) as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
