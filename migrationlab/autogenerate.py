"""Plumbing for 04_Autogenerate: what a lesson changed in its scratch copy."""

from __future__ import annotations

import difflib

from migrationlab.project import REPO_ROOT


def diff(lab, relative: str) -> None:
    """Print what changed in a file of the scratch copy, against the repository's
    version of it, as `git diff` would show it in the learner's own project."""
    before = (REPO_ROOT / relative).read_text().splitlines(keepends=True)
    after = lab.project.path(relative).read_text().splitlines(keepends=True)
    lines = difflib.unified_diff(before, after, f"a/{relative}", f"b/{relative}", n=2)
    print("".join(lines).rstrip("\n") or f"{relative}: no changes")
