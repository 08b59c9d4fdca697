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
