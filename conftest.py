"""One disposable PostgreSQL for the whole test session, handed to every test and kernel.

The session (the xdist controller, when tests run in parallel) owns the server;
tests, workers and notebook kernels (which inherit the environment, since
fixtures never reach nbval cells) get LAB_SERVER_URL and create their own fresh
database on it.

The session also guards the repository: nothing a test or a notebook runs may
change it (checked once everything has run), and notebooks a learner changed are
named up front, since nbval compares their stored outputs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent
SERVER = pytest.StashKey()
RUNTIME_DIR = pytest.StashKey()
STATE = pytest.StashKey()
LOCAL_NOTEBOOKS = pytest.StashKey()


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    # platformdirs (used by Jupyter) warns on stderr without a private runtime
    # dir, and nbval compares stderr.
    if not os.environ.get("XDG_RUNTIME_DIR"):
        config.stash[RUNTIME_DIR] = os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="xdg-")
    if is_worker(config):
        return  # the controller started the server and took the repository's state
    config.pluginmanager.register(PlainReportsOffTerminal(config), "plain-reports-off-terminal")
    config.stash[STATE] = repository_state()
    config.stash[LOCAL_NOTEBOOKS] = notebooks_with_local_changes()
    if os.environ.get("LAB_SERVER_URL"):
        return  # handed down: by `make lab`, a CI service
    from migrationlab.infra.servers import start_server

    server = start_server()
    config.stash[SERVER] = server
    os.environ["LAB_SERVER_URL"] = server.url.render_as_string(hide_password=False)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return local_notebooks_report(config)


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session):
    """Once every test and notebook has run (on every worker): the repository must be as
    it was. A change is reported as a failed check, like any failed test."""
    result = yield
    config = session.config
    if is_worker(config) or config.option.collectonly or STATE not in config.stash:
        return result
    before, after = config.stash[STATE], repository_state()
    if after != before:
        config.hook.pytest_runtest_logreport(report=pytest.TestReport(
            nodeid="conftest.py::repository_unchanged_after_every_test_and_notebook",
            location=("conftest.py", None, "repository_unchanged_after_every_test_and_notebook"),
            keywords={}, outcome="failed", when="call",
            longrepr="Running the suite changed the repository (git status / git diff): a test or "
            "notebook wrote into it; lessons that change files use Lab(scratch=True).\n"
            f"before:\n{before or '  (clean)'}\nafter:\n{after}",
        ))
    return result


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    for line in local_notebooks_report(config):
        terminalreporter.write_line(line, yellow=True)


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(SERVER, None)
    if server is not None:
        server.stop()
        del os.environ["LAB_SERVER_URL"]
    runtime_dir = config.stash.get(RUNTIME_DIR, None)
    if runtime_dir is not None:
        shutil.rmtree(runtime_dir, ignore_errors=True)


# -- the repository -------------------------------------------------------------------

def _git(*args: str) -> str:
    try:
        result = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
    except OSError:
        return ""
    return result.stdout if result.returncode == 0 else ""


def repository_state() -> str:
    """What git sees: changed and untracked files, and the changes themselves."""
    return _git("status", "--porcelain", "--untracked-files=all") + _git("diff")


def notebooks_with_local_changes() -> list[str]:
    """Notebooks under notebooks/ that differ from the repository's (edited and saved,
    or new): nbval checks them like the others, and a learner's outputs differ."""
    lines = _git("status", "--porcelain", "--untracked-files=all", "--", "notebooks")
    paths = [line[3:].strip() for line in lines.splitlines()]
    return [p for p in paths if p.endswith(".ipynb") and "/practice/" not in p]


def local_notebooks_report(config: pytest.Config) -> list[str]:
    changed = config.stash.get(LOCAL_NOTEBOOKS, [])
    if not changed:
        return []
    return [
        f"notebooks with local changes: {', '.join(changed)}; nbval compares their stored "
        "outputs with a fresh run, so your edits show as failures.",
        "  keep them aside: `git stash push --include-untracked -- notebooks` (back with "
        "`git stash pop`), or move copies into notebooks/practice/ (never tested) and "
        "`git checkout -- notebooks`",
    ]


# -- what a failed notebook cell printed ------------------------------------------------

@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """nbval names an output a cell should not have had ("Unexpected output fields:
    {'stderr'}") without showing it: a failed cell's report carries what it printed."""
    report = yield
    outputs = getattr(item, "test_outputs", None)
    if report.failed and call.when == "call" and outputs:
        report.sections.append(("what the cell printed in this run", printed(outputs)))
    return report


def printed(outputs: list) -> str:
    """The text of a cell's outputs: streams by name, results, errors' last lines."""
    lines = []
    for out in outputs:
        if out.get("output_type") == "stream":
            lines.append(f"[{out.get('name')}] {out.get('text', '')}".rstrip())
        elif out.get("output_type") == "error":
            lines.append(f"[error] {out.get('ename')}: {out.get('evalue')}")
        elif "text/plain" in out.get("data", {}):
            lines.append(f"[{out.get('output_type')}] {out['data']['text/plain']}".rstrip())
    return ANSI.sub("", "\n".join(lines))


# -- logs that are not terminals ------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


class PlainReportsOffTerminal:
    """nbval colours its reports unless --color=no, and IPython colours a kernel's
    traceback whatever pytest is told: where pytest itself writes without colour (a
    log file, CI), strip both; a terminal keeps them."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and not reporter.hasmarkup and isinstance(report.longrepr, str):
            report.longrepr = ANSI.sub("", report.longrepr)
