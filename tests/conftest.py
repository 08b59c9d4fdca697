"""Fixtures: a fresh database per test, on the session's server (see ../conftest.py),
and pytest-alembic's two fixtures pointed at it."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config

from migrationlab.infra.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def db() -> Iterator[Sandbox]:
    """A fresh, empty database, dropped after the test."""
    with Sandbox.create(os.environ["LAB_SERVER_URL"]) as sandbox:
        yield sandbox


@pytest.fixture
def alembic_engine(db: Sandbox):
    """pytest-alembic's built-in tests run on a fresh, real PostgreSQL database."""
    return db.engine


@pytest.fixture
def alembic_config() -> dict:
    """pytest-alembic reads the repository's alembic.ini, wherever pytest was started."""
    return {"file": str(REPO / "alembic.ini")}


@pytest.fixture
def migrations(db: Sandbox) -> Iterator[Config]:
    """The repository's alembic.ini, running on the test's database through a handed-in
    connection (env.py's config.attributes["connection"])."""
    config = Config(str(REPO / "alembic.ini"))
    with db.engine.connect() as connection:
        config.attributes["connection"] = connection
        yield config
        connection.commit()


@pytest.fixture
def database_url(db: Sandbox, monkeypatch: pytest.MonkeyPatch) -> str:
    """DATABASE_URL set to the test's database, as the app and env.py read it."""
    url = db.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    return url
