"""The learner's terminal, where the guide's commands work as the guide writes them.

`make lab` (``python -m migrationlab serve -- CMD``) gives the command it runs,
and so every JupyterLab terminal, a practice database of the learner's own:

* ``DATABASE_URL`` names it in the plain form (postgresql://...) that alembic, the
  app and psql all take;
* ``PGHOST``, ``PGPORT``, ``PGUSER``, ``PGDATABASE`` (and ``PGPASSWORD``) let `psql`
  and `pg_dump` reach it with no arguments;
* ``PATH`` starts with the kit's virtualenv (alembic, uvicorn) and PostgreSQL client
  tools of the server's major version.

A terminal (``python -m migrationlab terminal``) starts in the practice copy of the
project, ``notebooks/practice/`` or LAB_PRACTICE_DIR (app/, alembic/, alembic.ini): `alembic upgrade
head`, `alembic revision --autogenerate -m "..."` and an edit of
app/api/users/models.py happen there, never in the repository.
``python -m migrationlab practice --reset`` (`make practice-reset`) starts it over.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from sqlalchemy.engine import URL

from migrationlab.infra.settings import lab_settings
from migrationlab.project import REPO_ROOT, Project, copy_project

PRACTICE = REPO_ROOT / "notebooks" / "practice"
README = """\
This is your practice copy of the project: app/, alembic/ and alembic.ini, as in the
repository. Terminals of `make lab` start here, with DATABASE_URL naming your practice
database, so the guide's commands work as typed. Change anything: the repository is
not touched. To start over: `make practice-reset` (or python -m migrationlab practice --reset).
"""


def practice_dir() -> Path:
    return lab_settings().practice_dir or PRACTICE


def practice_copy(*, reset: bool = False) -> Path:
    """The practice copy of the project, made from the repository if missing (or RESET)."""
    root = practice_dir()
    if reset and root.exists():
        shutil.rmtree(root)
    if not (root / "alembic.ini").exists():
        root.mkdir(parents=True, exist_ok=True)
        copy_project(root)
        (root / "README.md").write_text(README)
    return root


def environment(database: URL) -> dict[str, str]:
    """What a learner's commands get: the practice DATABASE_URL, libpq's PG* variables
    for it, and PATH with the virtualenv and matching client tools first (also kept in
    LAB_PATH_FIRST, for terminals to put first again after the learner's ~/.bashrc)."""
    env = Project(practice_dir()).environment(database)
    env["LAB_PATH_FIRST"] = os.pathsep.join(env["PATH"].split(os.pathsep)[:2])
    return env


def banner(database: URL) -> str:
    root = practice_dir()
    shown = root.relative_to(REPO_ROOT) if root.is_relative_to(REPO_ROOT) else root
    return (
        f"Practice copy of the project: {shown} "
        f"(`make practice-reset` starts it over)\n"
        f"DATABASE_URL names your practice database {database.database}; try:\n"
        "  alembic upgrade head && alembic current && psql -c '\\dt'\n"
    )


def start_shell() -> None:
    """Replace this process with the user's shell, in the practice copy (a JupyterLab
    terminal runs this), whatever directory JupyterLab asked for. Interactive, not a
    login shell: a login shell's profile would reset PATH. bash reads the learner's
    ~/.bashrc and then terminal.bashrc, which puts the lab's tools first again."""
    from sqlalchemy.engine import make_url

    root = practice_copy()
    os.chdir(root)
    url = os.environ.get("DATABASE_URL")
    if url:
        text = banner(make_url(url))
    else:
        text = "No DATABASE_URL: start JupyterLab with `make lab` to get a practice database.\n"
    os.environ.setdefault("LAB_PATH_FIRST", str(Path(sys.executable).parent))
    os.environ.update(
        PWD=str(root), LAB_PRACTICE_DIR=str(root),
        PYTHONDONTWRITEBYTECODE="1",  # no __pycache__ in the learner's files
    )
    shell = os.environ.get("SHELL") or shutil.which("bash") or "/bin/sh"
    if Path(shell).name == "bash":
        os.environ["LAB_BANNER"] = text.rstrip("\n")
        os.execvp(shell, [shell, "--rcfile", str(Path(__file__).with_name("terminal.bashrc")), "-i"])
    print(text, flush=True)
    os.execvp(shell, [shell, "-i"])
