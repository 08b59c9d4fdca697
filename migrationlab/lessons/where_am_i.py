"""02_Where_Am_I: the exercise checks (the lesson needs no helper of its own)."""

from __future__ import annotations

from migrationlab.lab import Lab
from migrationlab.lessons import Hint, Verdict, disagreement, verdict


def exercise_1(lab: Lab) -> Verdict:
    """The database should be one step below head: 002, in its row and its tables."""
    rows = lab.versions()
    ok = rows == ["002"] and lab.schema_revision() == "002"
    hint = None if ok else disagreement(lab)
    at = ", ".join(rows or [])
    where_ko = f"데이터베이스가 {at}에 있습니다" if at else "데이터베이스가 어떤 리비전에도 있지 않습니다"
    return verdict(
        ok,
        right="the database is at 002, one step below head",
        not_yet=hint
        or f"the database is at {at or 'no revision'}; "
        'run lab.alembic("upgrade head") then lab.alembic("downgrade -1")',
        ko=(
            "데이터베이스가 헤드보다 한 단계 아래인 002에 있습니다",
            hint.ko if isinstance(hint, Hint)
            else hint
            or f"{where_ko}. "
            'lab.alembic("upgrade head")를 실행한 다음 lab.alembic("downgrade -1")을 실행하세요',
        ),
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
        ko=(
            f"posts 테이블을 만드는 리비전은 {creator}입니다",
            "`alembic history`에서 메시지에 posts가 나오는 리비전을 찾아보세요",
        ),
    )
