"""Alembic Migration Lab: a disposable PostgreSQL and the real project, for learning migrations.

In a notebook::

    from migrationlab import Lab
    lab = Lab()                     # a fresh database for this notebook
    lab.alembic("upgrade head")     # prints `$ alembic upgrade head` and its real output
    lab.tables()
"""

from importlib import import_module

# Imported lazily: `python -m migrationlab.infra.watchdog` starts with every server
# and must not pay for SQLAlchemy.
_EXPORTS = {
    "Lab": "migrationlab.lab",
    "LabError": "migrationlab.errors",
    "SQLError": "migrationlab.errors",
    "Project": "migrationlab.project",
    "Sandbox": "migrationlab.infra.sandbox",
    "sandbox": "migrationlab.infra.sandbox",
    "DockerServer": "migrationlab.infra.container",
    "EmbeddedServer": "migrationlab.infra.embedded",
    "ExternalServer": "migrationlab.infra.servers",
    "start_server": "migrationlab.infra.servers",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'migrationlab' has no attribute {name!r}")
