"""Helpers for 08_Troubleshooting: states a lesson needs that no alembic command makes."""

from __future__ import annotations

from migrationlab.infra.urls import libpq_url
from migrationlab.project import environ, forget_app_modules


def create_tables_like_dev(lab) -> None:
    """Do what the app does at start when ENVIRONMENT=development: call
    app.core.db.create_db_and_tables() (SQLModel's create_all), which makes the
    tables straight from the models and never touches alembic_version."""
    db = lab.project.import_app("app.core.db")
    try:
        with environ(DATABASE_URL=libpq_url(lab.db.url)):  # as the app's .env would say
            db.create_db_and_tables()
        db.get_engine().dispose()
    finally:
        forget_app_modules()  # the scratch copy's modules go, as after an alembic command
    print("create_db_and_tables(): the tables were created from the models")
