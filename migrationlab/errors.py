"""One error type whose message is one line: the problem, then the fix."""

import sys


class LabError(Exception):
    """A problem the user can fix; the message names it and says how."""


def _show_one_line(shell, etype, value, tb, tb_offset=None):  # noqa: ARG001
    print(f"{etype.__name__}: {value}", file=sys.stderr)


def install_notebook_handler() -> None:
    """In IPython, show a LabError as its one line instead of a traceback."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((LabError,), _show_one_line)
