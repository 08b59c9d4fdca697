"""Every bad input is a few plain lines naming the problem and the fix, on the command
line and in a notebook kernel alike, and never shows a password in any form."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

import nbformat
import pytest
import sqlalchemy as sa
from nbclient import NotebookClient

from migrationlab.infra.embedded import EmbeddedServer
from tests.conftest import REPO

PASSWORD = "hunter2@#/x"  # characters that need percent-encoding, and one that needs none
FORMS = {PASSWORD, quote(PASSWORD, safe=""), quote(PASSWORD), quote_plus(PASSWORD), "hunter2"}


@dataclass
class Case:
    name: str
    env: dict[str, str | None]
    says: str  # the message names the problem ...
    fix: str  # ... and the fix
    cli: bool = True
    max_lines: int = 3
    tmp: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def guarded_server():
    """A server that checks passwords, with a role that may not create databases."""
    with EmbeddedServer(password=PASSWORD) as server:
        with sa.create_engine(server.url).begin() as conn:
            conn.exec_driver_sql("create role nocreate login password 'x'")
        yield server


@pytest.fixture(scope="module")
def cases(guarded_server, tmp_path_factory) -> list[Case]:
    url = guarded_server.url
    wrong = url.set(password="not-" + PASSWORD).render_as_string(hide_password=False)
    nocreate = url.set(username="nocreate", password="x").render_as_string(hide_password=False)
    tmp = tmp_path_factory.mktemp("runtime")
    a_file = tmp / "a-file"
    a_file.write_text("")
    shared = tmp / "shared"
    (shared / f"migrationlab-{os.getuid()}").mkdir(parents=True, mode=0o777)
    (shared / f"migrationlab-{os.getuid()}").chmod(0o777)  # as another user could leave it
    unreachable = f"postgresql://lab:{quote(PASSWORD, safe='')}@127.0.0.1:1/postgres"
    raw = f"postgresql://u:{PASSWORD}@db/postgres"
    server = {"LAB_BACKEND": "server"}
    embedded = {"LAB_BACKEND": "embedded", "LAB_SERVER_URL": None}
    return [
        Case("unreachable server", {**server, "LAB_SERVER_URL": unreachable},
             "no PostgreSQL answers at postgresql+psycopg2://lab:***@127.0.0.1:1/postgres",
             "fix host and port in LAB_SERVER_URL"),
        Case("wrong password", {**server, "LAB_SERVER_URL": wrong},
             "wrong user or password", "fix the credentials"),
        Case("empty URL", {**server, "LAB_SERVER_URL": "postgresql://"},
             "names no server", "use the form"),
        Case("not PostgreSQL", {**server, "LAB_SERVER_URL": "mysql://u:p@db/app"},
             "names a mysql database", "needs PostgreSQL"),
        Case("password not percent-encoded", {**server, "LAB_SERVER_URL": raw},
             "must be percent-encoded", "@ as %40"),
        Case("role without CREATEDB", {**server, "LAB_SERVER_URL": nocreate},
             "may not create databases", "ALTER ROLE nocreate CREATEDB"),
        Case("unknown backend", {"LAB_BACKEND": "bogus", "LAB_SERVER_URL": None},
             "LAB_BACKEND='bogus' is not a backend", "use auto, docker, embedded or server"),
        Case("port not a number", {**embedded, "LAB_EMBEDDED_PORT": "abc"},
             "LAB_EMBEDDED_PORT='abc' is not a port", "use a free port"),
        Case("port out of range", {**embedded, "LAB_EMBEDDED_PORT": "99999"},
             "LAB_EMBEDDED_PORT='99999' is not a port", "use a free port"),
        Case("runtime dir missing", {**embedded, "LAB_RUNTIME_DIR": str(tmp / "nope")},
             "is not a directory", "create it, or unset LAB_RUNTIME_DIR"),
        Case("runtime dir is a file", {**embedded, "LAB_RUNTIME_DIR": str(a_file)},
             "is not a directory", "create it, or unset LAB_RUNTIME_DIR"),
        Case("runtime dir others can write", {**embedded, "LAB_RUNTIME_DIR": str(shared)},
             "is not the kit's own", "set LAB_RUNTIME_DIR to a private directory"),
    ]


def assert_plain(text: str, case: Case) -> None:
    lines = text.strip().splitlines()
    assert "Traceback" not in text and "File \"" not in text, f"{case.name}: {text}"
    assert 1 <= len(lines) <= case.max_lines, f"{case.name}: {len(lines)} lines: {text}"
    assert case.says in text and case.fix in text, f"{case.name}: {text}"
    leaked = [form for form in FORMS if form in text]
    assert not leaked, f"{case.name}: the password shows ({leaked}): {text}"


def child_env(case: Case) -> dict[str, str]:
    env = dict(os.environ)
    for key, value in case.env.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def test_bad_input_on_the_command_line_is_one_line(cases):
    for case in cases:
        for command in (["serve", "--", "true"], ["reap"]):
            if command == ["reap"] and "LAB_RUNTIME_DIR" not in case.env:
                continue
            result = subprocess.run([sys.executable, "-m", "migrationlab", *command], cwd=REPO,
                                    env=child_env(case), capture_output=True, text=True, timeout=60)
            assert result.returncode == 2, f"{case.name}: {result.stdout}{result.stderr}"
            assert result.stderr.startswith("error: "), f"{case.name}: {result.stderr}"
            assert_plain(result.stderr, case)


def run_in_kernel(sources: list[str]) -> list[nbformat.NotebookNode]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=120,
                   resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    return nb.cells


def shown_text(cell) -> str:
    """What the learner sees under a cell: streams, results and any traceback."""
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type == "error":
            parts.append("Traceback\n" + "\n".join(output.traceback))
        else:
            parts.append(str(output.get("data", {}).get("text/plain", "")))
    return "".join(parts)


def set_env(env: dict[str, str | None]) -> str:
    return "\n".join(
        f"os.environ.pop({k!r}, None)" if v is None else f"os.environ[{k!r}] = {v!r}"
        for k, v in env.items()
    )


def test_bad_input_in_a_notebook_kernel_is_one_line(cases):
    """One kernel, a cell per case: the kit reads its settings when a Lab starts, as a
    kernel started with that environment would."""
    sources = ["import os\nfrom migrationlab import Lab\nsaved = dict(os.environ)"]
    for case in cases:
        sources.append(f"{set_env(case.env)}\ntry:\n    lab = Lab()\nfinally:\n"
                       "    os.environ.clear(); os.environ.update(saved)")
    cells = run_in_kernel(sources)
    assert not cells[0].outputs
    for case, cell in zip(cases, cells[1:], strict=True):
        text = shown_text(cell)
        assert text.startswith("LabError: "), f"{case.name}: {text}"
        assert_plain(text, case)


def test_a_learners_own_mistakes_read_like_psql_and_a_shell(guarded_server):
    """SQL that PostgreSQL refuses reads as psql prints it; a typo in a command line as a
    shell says it; a URL echoed by the shell shows no password."""
    env = {"LAB_SERVER_URL": guarded_server.url.render_as_string(hide_password=False)}
    cells = run_in_kernel([
        f"import os\nos.environ.update({env!r})\nfrom migrationlab import Lab\nlab = Lab()",
        'lab.sql("select * from nope")',
        'lab.sql("select 1/0")',
        "lab.alembic('upgrade \"head')",
        'lab.shell("echo $DATABASE_URL; echo $PGPASSWORD; python -c \'import os,urllib.parse as u;'
        'print(u.quote(u.urlsplit(os.environ[\\"DATABASE_URL\\"]).password or \\"\\"))\'")',
    ])
    assert not shown_text(cells[0])
    refused = shown_text(cells[1])
    assert refused.splitlines() == [
        'ERROR:  relation "nope" does not exist',
        "LINE 1: select * from nope",
        "                      ^",
    ], refused
    assert shown_text(cells[2]).splitlines() == ["ERROR:  division by zero"]
    typo = shown_text(cells[3])
    assert typo == "$ alembic upgrade \"head\nalembic: No closing quotation in: upgrade \"head\n", typo
    echoed = shown_text(cells[4])
    assert "postgresql://postgres:***@" in echoed
    assert not [form for form in FORMS if form in echoed], echoed


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only directory: nothing to report")
def test_a_read_only_runtime_dir_is_one_line(tmp_path):
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(stat.S_IRUSR | stat.S_IXUSR)
    env = {**os.environ, "LAB_BACKEND": "embedded", "LAB_RUNTIME_DIR": str(read_only)}
    env.pop("LAB_SERVER_URL", None)
    result = subprocess.run([sys.executable, "-m", "migrationlab", "reap"], cwd=REPO, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot create the kit's runtime directory")
    assert "set LAB_RUNTIME_DIR to a directory of yours" in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_server_that_exits_at_start_says_why(monkeypatch):
    monkeypatch.setitem(EmbeddedServer.SETTINGS, "shared_buffers", "not-a-size")
    server = EmbeddedServer()
    with pytest.raises(Exception) as error:
        server.start()
    assert type(error.value).__name__ == "LabError"
    assert "did not start" in str(error.value) and "shared_buffers" in str(error.value)
    assert server.directory is None  # stopped and removed after its log was read
