"""Helpers for 08_Troubleshooting: states a lesson needs that no alembic command makes."""

from __future__ import annotations

import importlib
import sys

from migrationlab.project import _forget_app_modules


def create_tables_like_dev(lab) -> None:
    """Do what the app does at start when ENVIRONMENT=development: call
    app.core.db.create_db_and_tables() (SQLModel's create_all), which makes the
    tables straight from the models and never touches alembic_version."""
    root = str(lab.project.root)
    sys.path.insert(0, root)
    try:
        _forget_app_modules()
        db = importlib.import_module("app.core.db")
        db.create_db_and_tables()
        db.get_engine().dispose()
    finally:
        sys.path.remove(root)
        _forget_app_modules()
    print("create_db_and_tables(): the tables were created from the models")
