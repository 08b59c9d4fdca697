"""03_Moving_Through_History: the exercise checks (the lesson needs no helper of its own)."""

from __future__ import annotations

from migrationlab.display import table_names
from migrationlab.lab import Lab
from migrationlab.lessons import Verdict, disagreement, verdict


def _where(versions: list[str] | None) -> str:
    if versions is None:
        return "has never been migrated"
    return "is at " + (", ".join(versions) or "no revision")


def exercise_1(lab: Lab) -> Verdict:
    """At 002: the version says so, and the schema agrees (posts, and no users.is_active)."""
    tables, versions = set(table_names(lab.engine)), lab.versions()
    columns = {c[0] for c in lab.query(
        "select column_name from information_schema.columns where table_name = 'users'"
    )}
    ok = (
        versions == ["002"]
        and tables == {"alembic_version", "users", "posts"}
        and "is_active" not in columns
    )
    hint = None if ok else disagreement(lab)
    if hint is None:
        step = 'lab.alembic("downgrade -1")' if versions == ["003"] else 'lab.alembic("upgrade 002")'
        hint = f"the database {_where(versions)}; try {step}"
    return verdict(
        ok,
        right="the database is at 002: users and posts, and users has no is_active yet",
        not_yet=hint,
    )


def exercise_2(lab: Lab) -> Verdict:
    """At base: alembic_version exists with no row, and no other table is left."""
    tables, versions = set(table_names(lab.engine)), lab.versions()
    others = sorted(tables - {"alembic_version"})
    ok = versions == [] and not others
    hint = None if ok else disagreement(lab)
    return verdict(
        ok,
        right="no application tables, and alembic_version holds no revision: the database is at base",
        not_yet=hint or f"the database {_where(versions)}"
        + (f" with tables {', '.join(others)}" if others else "")
        + '; run lab.alembic("downgrade base")',
    )
