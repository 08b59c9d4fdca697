"""The guide's commands in a terminal of `make lab`: `serve` hands every command it runs
a practice database (DATABASE_URL, PG* variables, client tools on PATH), terminals
start in a practice copy of the project, and the repository never changes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import sqlalchemy as sa
from alembic import command

from migrationlab.project import Project
from tests.conftest import REPO
from tests.test_sandbox import wait_until

PROBE = """
import json, os, shutil
print(json.dumps({k: os.environ.get(k) for k in
      ("DATABASE_URL", "PGHOST", "PGDATABASE", "PGUSER", "LAB_SERVER_URL", "PATH")}))
print(shutil.which("psql"), shutil.which("alembic"))
"""


def serve(*command: str, practice: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("LAB_SERVER_URL", "DATABASE_URL")}
    environ.update(LAB_BACKEND="embedded", LAB_PRACTICE_DIR=str(practice), **env)
    return subprocess.run([sys.executable, "-m", "migrationlab", "serve", "--", *command], cwd=REPO,
                          env=environ, capture_output=True, text=True, timeout=120)


def test_serve_gives_its_command_a_practice_database(tmp_path):
    result = serve(sys.executable, "-c", PROBE, practice=tmp_path / "practice")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    env = json.loads(lines[1])
    assert env["DATABASE_URL"].startswith("postgresql://postgres@/lab_")  # psql's form
    assert env["PGDATABASE"] == env["DATABASE_URL"].split("/")[3].split("?")[0]
    assert env["PGHOST"] and env["PGUSER"] == "postgres"
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    psql, alembic = lines[2].split()
    assert Path(psql).parent == Path(env["PATH"].split(os.pathsep)[1])  # the server's own tools
    assert Path(alembic).parent == Path(sys.executable).parent
    assert f"practice database {env['PGDATABASE']}" in lines[0]
    assert (tmp_path / "practice" / "alembic.ini").exists()


GUIDE = r"""
set -e
alembic upgrade head
alembic current
field='    phone_number: str | None = Field(default=None, max_length=20)'
sed -i "s/^    name: str = Field(max_length=100)\$/&\n$field/" app/api/users/models.py
alembic revision --autogenerate -m "add phone_number to users"
alembic upgrade head
psql -c '\dt'
psql "$DATABASE_URL" -Atc 'select column_name from information_schema.columns
                           where table_name = $$users$$ and column_name = $$phone_number$$'
"""


def test_the_guides_commands_work_as_typed_in_the_practice_copy(tmp_path):
    before = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True)
    practice = tmp_path / "practice"
    (tmp_path / "typed").write_text(GUIDE)
    # Typed into a terminal, as JupyterLab starts one (python -m migrationlab terminal).
    result = serve("sh", "-c", f"SHELL=/bin/bash python -m migrationlab terminal < {tmp_path / 'typed'}",
                   practice=practice)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout + result.stderr
    assert "Running upgrade 002 -> 003" in out and "003 (head)" in out
    assert "Detected added column 'users.phone_number'" in out
    assert " public | users           | table | postgres" in out
    assert result.stdout.splitlines()[-2] == "phone_number"  # then serve's "stopped"
    assert list(practice.glob("alembic/versions/*_add_phone_number_to_users.py"))
    assert not list(practice.rglob("__pycache__"))  # terminals write no bytecode there
    after = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True)
    assert after.stdout == before.stdout


def test_a_terminal_starts_in_the_practice_copy_with_a_banner(tmp_path):
    practice = tmp_path / "practice"
    script = "printf 'pwd\\nalembic current\\nexit\\n' | SHELL=/bin/sh python -m migrationlab terminal"
    result = serve("sh", "-c", script, practice=practice)
    assert result.returncode == 0, result.stderr
    assert "Practice copy of the project: " in result.stdout
    assert "make practice-reset" in result.stdout
    assert str(practice) in result.stdout.splitlines()
    assert "Context impl PostgresqlImpl" in result.stderr


def test_practice_reset_starts_the_copy_over(tmp_path):
    practice = tmp_path / "practice"
    env = {**os.environ, "LAB_PRACTICE_DIR": str(practice)}
    run = lambda *a: subprocess.run([sys.executable, "-m", "migrationlab", "practice", *a],  # noqa: E731
                                    cwd=REPO, env=env, capture_output=True, text=True, check=True)
    run()
    (practice / "app" / "api" / "users" / "models.py").write_text("# mine\n")
    (practice / "alembic" / "versions" / "004_mine.py").write_text("# mine\n")
    run("--reset")
    assert "# mine" not in (practice / "app" / "api" / "users" / "models.py").read_text()
    assert not (practice / "alembic" / "versions" / "004_mine.py").exists()


def test_serve_killed_by_sigkill_takes_its_command_along(tmp_path):
    environ = {k: v for k, v in os.environ.items() if k != "LAB_SERVER_URL"}
    environ.update(LAB_BACKEND="embedded", LAB_PRACTICE_DIR=str(tmp_path / "practice"))
    code = "import os, time; print(os.getpid(), flush=True); time.sleep(120)"
    owner = subprocess.Popen(
        [sys.executable, "-m", "migrationlab", "serve", "--", sys.executable, "-c", code],
        cwd=REPO, env=environ, stdout=subprocess.PIPE, text=True,
    )
    owner.stdout.readline()  # ready
    child = int(owner.stdout.readline())
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    assert wait_until(lambda: not psutil.pid_exists(child) or
                      psutil.Process(child).status() == psutil.STATUS_ZOMBIE, 20)


def test_alembic_without_a_database_is_one_line(tmp_path):
    env = {**os.environ, "DATABASE_URL": "postgresql://app:s3cret@127.0.0.1:1/app",
           "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, "-m", "alembic", "current"], cwd=REPO, env=env,
                            capture_output=True, text=True)
    assert result.returncode != 0
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("FAILED: cannot connect to postgresql+psycopg2://app:***@127.0.0.1:1/app")
    assert "set DATABASE_URL" in lines[0] and "s3cret" not in lines[0]


def test_env_py_takes_an_engine_as_pytest_alembic_hands_it(db):
    """pytest-alembic puts an Engine in config.attributes["connection"]; the cookbook a
    Connection. env.py runs with either."""
    config = Project.repo().config()
    config.attributes["connection"] = db.engine
    command.upgrade(config, "head")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("select version_num from alembic_version").scalar() == "003"
    with db.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
        conn.commit()
    assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]


def test_psql_reaches_the_practice_database_with_no_arguments(tmp_path):
    result = serve("sh", "-c", "psql -Atc 'select current_database(), current_user'",
                   practice=tmp_path / "practice")
    assert result.returncode == 0, result.stderr
    name, user = result.stdout.splitlines()[1].split("|")
    assert name.startswith("lab_") and user == "postgres"
