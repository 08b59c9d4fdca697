"""``%%lab_file``: a code cell that *is* a file of the lab's scratch copy.

In the spirit of IPython's ``%%writefile``, the cell's text is written to the file
and the cell reads as highlighted Python, not as a string inside Python::

    %%lab_file alembic/versions/004_add_phone_number_to_users.py
    \"\"\"add phone_number to users
    ...

``--lab NAME`` picks another lab of the notebook (``bob``); ``lab`` by default. A new
file is reported with its size; a changed one with the lines that changed, as
`git diff` shows them.
"""

from __future__ import annotations

import argparse
import difflib
import shlex

from migrationlab.errors import LabError


def lab_file(line: str, cell: str) -> None:
    """%%lab_file [--lab NAME] PATH: write the cell to PATH in the lab's scratch copy."""
    from IPython import get_ipython

    parser = argparse.ArgumentParser(prog="%%lab_file", add_help=False)
    parser.add_argument("--lab", default="lab")
    parser.add_argument("path")
    try:
        args = parser.parse_args(shlex.split(line))
    except (SystemExit, ValueError):
        raise LabError("write it as %%lab_file [--lab NAME] PATH, e.g. %%lab_file app/models.py") from None
    lab = get_ipython().user_ns.get(args.lab)
    if lab is None or not hasattr(lab, "write"):
        raise LabError(f"%%lab_file: no lab named {args.lab!r} in this notebook; create it first")
    lab.write(args.path, cell)


def changes(relative: str, before: str | None, after: str) -> str:
    """What writing AFTER over BEFORE did, in a few lines."""
    if before is None:
        return f"wrote {relative} ({len(after.splitlines())} lines)"
    if before == after:
        return f"{relative}: unchanged"
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    # A revision's "Create Date:" is when alembic generated it: filling the file in
    # keeps its meaning, so that line is not shown as a change.
    lines = [line for line in diff
             if not line.startswith(("---", "+++", "@@")) and not line[1:].startswith("Create Date:")]
    return f"changed {relative}:\n" + "\n".join(lines)


def register() -> None:
    """Register %%lab_file in the running IPython, if any."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.register_magic_function(lab_file, magic_kind="cell", magic_name="lab_file")
