"""03_Moving_Through_History: the exercise checks (the lesson needs no helper of its own)."""

from __future__ import annotations

from migrationlab.display import table_names
from migrationlab.lab import Lab
from migrationlab.lessons import Hint, Verdict, disagreement, verdict


def _where(versions: list[str] | None) -> str:
    if versions is None:
        return "has never been migrated"
    return "is at " + (", ".join(versions) or "no revision")


def _where_ko(versions: list[str] | None) -> str:
    if versions is None:
        return "데이터베이스가 한 번도 마이그레이션되지 않았습니다"
    if not versions:
        return "데이터베이스가 어떤 리비전에도 있지 않습니다"
    return f"데이터베이스가 {', '.join(versions)}에 있습니다"


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
    found = None if ok else disagreement(lab)
    step = 'lab.alembic("downgrade -1")' if versions == ["003"] else 'lab.alembic("upgrade 002")'
    hint = found or f"the database {_where(versions)}; try {step}"
    hint_ko = (found.ko if isinstance(found, Hint)
               else found or f"{_where_ko(versions)}. 다음을 실행해 보세요: {step}")
    return verdict(
        ok,
        right="the database is at 002: users and posts, and users has no is_active yet",
        not_yet=hint,
        ko=(
            "데이터베이스가 002에 있습니다. users와 posts가 있고, users에는 아직 is_active가 없습니다",
            hint_ko,
        ),
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
        ko=(
            "앱 테이블이 하나도 없고 alembic_version에도 리비전이 없습니다. 데이터베이스가 base에 있습니다",
            hint.ko if isinstance(hint, Hint)
            else hint
            or f"{_where_ko(versions)}."
            + (f" 남아 있는 테이블: {', '.join(others)}." if others else "")
            + ' 다음을 실행하세요: lab.alembic("downgrade base")',
        ),
    )
