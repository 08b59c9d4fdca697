"""Checks for 02_Where_Am_I."""

from migrationlab.exercises import disagreement, verdict, versions


def exercise_1(lab) -> bool:
    """The database should be one step below head: 002, in its row and its tables."""
    rows = versions(lab)
    ok = rows == ["002"] and lab.schema_revision() == "002"
    return verdict(
        ok,
        right="the database is at 002, one step below head",
        not_yet=(None if ok else disagreement(lab, rows))
        or f"the database is at {', '.join(rows or []) or 'no revision'}; "
        'run lab.alembic("upgrade head") then lab.alembic("downgrade -1")',
    )


def exercise_2(lab, answer: str) -> bool:
    """002 creates posts: checked against the revision files, not a stored answer."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(Config(str(lab.project.root / "alembic.ini")))
    creator = next(
        rev.revision
        for rev in script.walk_revisions()
        if "create_table(\n        \"posts\"" in open(rev.path).read()
    )
    return verdict(
        answer.strip() == creator,
        right=f"revision {creator} creates the posts table",
        not_yet="look for the revision whose message mentions posts in `alembic history`",
    )
