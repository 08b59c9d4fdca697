"""Errors a learner can fix, shown as a few plain lines instead of a traceback.

``LabError``: one line, the problem and then the fix. ``SQLError``: PostgreSQL's
own report (ERROR, DETAIL, HINT, the LINE and its caret), as psql prints it.
In IPython both are shown as just those lines (``install_notebook_handler``).
"""

from __future__ import annotations

import sys


class LabError(Exception):
    """A problem the user can fix; the message names it and says how."""


class SQLError(LabError):
    """PostgreSQL refused a statement; the message is its report, as psql shows it."""


def _show_lines(shell, etype, value, tb, tb_offset=None):  # noqa: ARG001
    prefix = "" if issubclass(etype, SQLError) else f"{etype.__name__}: "
    print(f"{prefix}{value}", file=sys.stderr)


def install_notebook_handler() -> None:
    """In IPython, show a LabError as its lines instead of a traceback."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((LabError,), _show_lines)
