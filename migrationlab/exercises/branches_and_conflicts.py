"""Checks for 07_Branches_and_Conflicts: read the learner's own scratch files and database."""

from __future__ import annotations

import sqlalchemy as sa

from migrationlab.exercises import verdict


def _script(lab):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(Config(str(lab.project.root / "alembic.ini")))


def _parents(rev) -> tuple[str, ...]:
    down = rev.down_revision
    if down is None:
        return ()
    return (down,) if isinstance(down, str) else tuple(down)


def _state(lab, column: str):
    """The revision files, their heads, the revisions the database is at, and whether
    users has COLUMN."""
    script = _script(lab)
    heads = sorted(script.get_heads())
    inspector = sa.inspect(lab.engine)
    names = inspector.get_table_names()
    at = []
    if "alembic_version" in names:
        at = sorted(r[0] for r in lab.query("select version_num from alembic_version"))
    has_column = "users" in names and column in {c["name"] for c in inspector.get_columns("users")}
    return script, heads, at, has_column


def _applied(at: list[str], heads: list[str], has_column: bool, column: str, lab_name: str):
    if at != heads or not has_column:
        return (
            f"the files are right, but the database is at {', '.join(at) or 'no revision'} "
            f"and users has no {column} yet; run {lab_name}.alembic(\"upgrade head\")"
        )
    return None


def exercise_1(lab, carol: str = "007") -> bool:
    """Carol's branch joined by a merge revision, and the database at the one head."""
    script, heads, at, has_column = _state(lab, "nickname")
    merge = next(
        (r for r in script.walk_revisions() if carol in _parents(r) and len(_parents(r)) > 1),
        None,
    )
    if len(heads) > 1:
        problem = (
            f"the files still have {len(heads)} heads ({', '.join(heads)}); join them with "
            "lab.alembic('merge heads -m \"merge 006 and 007\" --rev-id 008')"
        )
    elif merge is None:
        problem = (
            f"one head, but no merge revision lists {carol} as a parent; "
            "this exercise asks for `alembic merge heads`"
        )
    else:
        problem = _applied(at, heads, has_column, "nickname", "lab")
    return verdict(
        problem is None,
        right=(
            f"merge revision {merge.revision if merge else ''} joins "
            f"{' and '.join(_parents(merge)) if merge else ''}; the database is at the single "
            "head and users has nickname"
        ),
        not_yet=problem or "",
    )


def exercise_2(bob, rev: str = "006") -> bool:
    """Bob's revision 006 re-parented onto the head: one straight line, applied."""
    script, heads, at, has_column = _state(bob, "avatar_url")
    merge = next((r for r in script.walk_revisions() if len(_parents(r)) > 1), None)
    if len(heads) > 1:
        problem = (
            f"the files still have {len(heads)} heads ({', '.join(heads)}); point "
            f"down_revision (and Revises:) of {rev} at the other head with bob.edit(...)"
        )
    elif merge is not None:
        problem = (
            f"revision {merge.revision} is a merge; this exercise asks for a straight line: "
            f"bob.remove its file and re-parent {rev} instead"
        )
    else:
        problem = _applied(at, heads, has_column, "avatar_url", "bob")
    parent = _parents(script.get_revision(rev)) if problem is None else ()
    return verdict(
        problem is None,
        right=(
            f"{rev} now follows {parent[0] if parent else '<base>'} in one straight line; "
            "the database is at the head and users has avatar_url"
        ),
        not_yet=problem or "",
    )
