"""ruff (a dev dependency) finds nothing in the project's Python."""

import subprocess
import sys

from tests.conftest import REPO


def test_ruff_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "app", "alembic", "migrationlab", "scripts", "tests",
         "conftest.py"],
        cwd=REPO, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout


def test_mypy_finds_no_type_error():
    """The kit, the app and the scripts type-check (pyproject's [tool.mypy] says what and
    how); its cache goes to a temporary directory, not into the repository."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", "/dev/null"],
        cwd=REPO, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
