"""Alembic Migration Lab: a disposable PostgreSQL and the real project, for learning migrations.

In a notebook::

    from migrationlab import Lab
    lab = Lab()                     # a fresh database for this notebook
    lab.alembic("upgrade head")     # prints `$ alembic upgrade head` and its real output
    lab.tables()
"""

from importlib import import_module

# Imported lazily: `python -m migrationlab.watchdog` starts with every server
# and must not pay for SQLAlchemy.
_EXPORTS = {
    "Lab": "migrationlab.lab",
    "LabError": "migrationlab.errors",
    "Project": "migrationlab.project",
    "Sandbox": "migrationlab.sandbox",
    "sandbox": "migrationlab.sandbox",
    "DockerServer": "migrationlab.servers",
    "EmbeddedServer": "migrationlab.servers",
    "ExternalServer": "migrationlab.servers",
    "start_server": "migrationlab.servers",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'migrationlab' has no attribute {name!r}")
