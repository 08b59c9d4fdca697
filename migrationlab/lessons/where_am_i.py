"""02_Where_Am_I: the exercise checks (the lesson needs no helper of its own)."""

from __future__ import annotations

from migrationlab.lab import Lab
from migrationlab.lessons import Verdict, disagreement, verdict


def exercise_1(lab: Lab) -> Verdict:
    """The database should be one step below head: 002, in its row and its tables."""
    rows = lab.versions()
    ok = rows == ["002"] and lab.schema_revision() == "002"
    return verdict(
        ok,
        right="the database is at 002, one step below head",
        not_yet=(None if ok else disagreement(lab))
        or f"the database is at {', '.join(rows or []) or 'no revision'}; "
        'run lab.alembic("upgrade head") then lab.alembic("downgrade -1")',
    )


def exercise_2(lab: Lab, answer: str) -> Verdict:
    """The revision that creates posts: checked against the revision files, not a stored answer."""
    creator = next(
        rev.revision
        for rev in lab.project.script().walk_revisions()
        if "create_table(\n        \"posts\"" in open(rev.path).read()
    )
    return verdict(
        answer.strip() == creator,
        right=f"revision {creator} creates the posts table",
        not_yet="look for the revision whose message mentions posts in `alembic history`",
    )
