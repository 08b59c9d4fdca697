"""The engine and the per-request session."""

from collections.abc import Iterator
from functools import lru_cache

from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, create_engine

from app.core.config import get_settings


def get_engine() -> Engine:
    """The engine for the DATABASE_URL in the settings (one engine per URL)."""
    return _engine_for(get_settings().DATABASE_URL)


@lru_cache
def _engine_for(url: str) -> Engine:
    return create_engine(url, pool_pre_ping=True)


def get_session() -> Iterator[Session]:
    """FastAPI dependency: a session that is closed after the request."""
    with Session(get_engine()) as session:
        yield session


def create_db_and_tables() -> None:
    """Create every table straight from the models. Development only: anywhere
    else the schema belongs to the migrations (`alembic upgrade head`)."""
    import app.models  # noqa: F401  (registers every table on the metadata)

    SQLModel.metadata.create_all(get_engine())
