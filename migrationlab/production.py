"""Helpers for the Production notebook: a terminal set up as on a server, more
databases on the same project (a laptop, staging), and the models as the app sees them.

Example::

    from migrationlab import Lab, production
    lab = Lab(scratch=True)
    production.terminal(lab)                  # alembic, pg_dump and psql on PATH
    lab.shell("pg_dump -f backups/before.sql") # no URL needed: PGHOST, PGDATABASE, ...
    staging = production.another_database(lab)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import sqlalchemy as sa

from migrationlab.infra.embedded import embedded_bin_dir
from migrationlab.infra.sandbox import sandbox
from migrationlab.lab import Lab
from migrationlab.project import REPO_ROOT

DEPLOY_SCRIPT = REPO_ROOT / "scripts" / "deploy.sh"


def terminal(lab: Lab, name: str = "this notebook's database") -> None:
    """Set up `lab.shell` as a server's terminal: the app's virtualenv active (alembic
    on PATH), PostgreSQL client tools as new as the server, and the libpq variables
    (PGHOST, PGUSER, PGDATABASE, ...) naming LAB's database, so `pg_dump` and `psql`
    need no URL. Call it again with another lab to point the tools at its database."""
    tools = client_tools(lab)
    first = [str(Path(sys.executable).parent), str(tools)]
    rest = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p not in first]
    os.environ["PATH"] = os.pathsep.join(first + rest)

    url = lab.db.url
    values = {
        "PGHOST": url.host or url.query.get("host"),
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }
    for key, value in values.items():
        if value:
            os.environ[key] = str(value)
        else:
            os.environ.pop(key, None)
    print(
        "terminal: the app's virtualenv is active (alembic), PostgreSQL client tools "
        "for the server (pg_dump, psql) are on PATH,\n"
        f"and PGHOST, PGUSER, PGDATABASE name {name}"
    )


def client_tools(lab: Lab) -> Path:
    """The PostgreSQL client tools for LAB's server: the same major version if this
    machine has it (a newer pg_dump writes settings an older server cannot restore,
    such as 18's SET transaction_timeout on 15), else the embedded wheel's (18)."""
    with lab.engine.connect() as conn:
        server = int(conn.exec_driver_sql("show server_version_num").scalar()) // 10000
    same = Path(f"/usr/lib/postgresql/{server}/bin")
    if (same / "pg_dump").exists() and (same / "psql").exists():
        return same
    return embedded_bin_dir()


def deploy_script() -> str:
    """The text of the repository's scripts/deploy.sh (to copy into a scratch project)."""
    return DEPLOY_SCRIPT.read_text()


class _Another(Lab):
    """A second fresh database working on the same project as another Lab."""

    def __init__(self, lab: Lab) -> None:  # noqa: D107 (no super(): DATABASE_URL stays)
        self.db = sandbox()
        self.project = lab.project

    def close(self) -> None:
        self.db.close()


def another_database(lab: Lab) -> Lab:
    """A fresh, empty database on the same server and the same project files as LAB:
    a teammate's laptop, a staging server. Its commands work like LAB's::

        staging = production.another_database(lab)
        staging.alembic("upgrade head")
    """
    return _Another(lab)


def import_models(lab: Lab) -> sa.MetaData:
    """The project's metadata, imported from its files as the app imports it
    (`import app.models`): what `SQLModel.metadata.create_all()` would create."""
    return lab.project.import_app("app.models").metadata
