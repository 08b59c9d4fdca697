"""06_Data_Migrations: the exercise checks, on the learner's own scratch files and
database. (The lesson times its backfills with ``Lab.timed``.)"""

from __future__ import annotations

import math
import re

import sqlalchemy as sa

from migrationlab.lab import Lab
from migrationlab.lessons import Hint, Verdict, verdict

APP_IMPORT = re.compile(r"^\s*(from|import)\s+app(\.|\s|$)", re.MULTILINE)
BATCH = 20_000


def _app_importers(lab: Lab) -> list[str]:
    versions = lab.project.root / "alembic" / "versions"
    return sorted(p.name for p in versions.glob("*.py") if APP_IMPORT.search(p.read_text()))


def _not_at_head(lab: Lab, newer_than: str) -> Hint | None:
    heads, at = lab.project.heads(), lab.versions() or []
    if heads == [newer_than] or not heads:
        return Hint(f"there is no revision after {newer_than} yet",
                    f"{newer_than} 다음 리비전이 아직 없습니다")
    if at != heads:
        where_ko = f"{', '.join(at)}에 있고" if at else "어떤 리비전에도 있지 않고"
        return Hint(
            f"the database is at {', '.join(at) or 'no revision'}, the files' head is "
            f"{', '.join(heads)}; run lab.alembic(\"upgrade head\")",
            f"데이터베이스는 {where_ko}, 파일의 헤드는 {', '.join(heads)}입니다. "
            'lab.alembic("upgrade head")를 실행하세요',
        )
    return None


def exercise_1(lab: Lab) -> Verdict:
    """example.org users deactivated by a revision after 006 that imports nothing from app."""
    head_problem = _not_at_head(lab, "006")
    problem: str | None = head_problem
    problem_ko = head_problem.ko if head_problem else ""
    importers = _app_importers(lab)
    if problem is None and importers:
        problem = f"{', '.join(importers)} imports from app; use a table stub (sa.table) instead"
        problem_ko = (f"{', '.join(importers)}에서 app의 코드를 import합니다. "
                      "대신 테이블 스텁(sa.table)을 쓰세요")
    if problem is None:
        active_org, org, inactive_com = lab.query(
            "select count(*) filter (where is_active and email like '%@example.org'),"
            " count(*) filter (where email like '%@example.org'),"
            " count(*) filter (where not is_active and email like '%@example.com')"
            " from users"
        )[0]
        if active_org:
            problem = f"{active_org} example.org users are still active"
            problem_ko = f"example.org 사용자 {active_org}명이 아직 활성 상태입니다"
        elif not org:
            problem = "there are no example.org users left: deactivate them, don't delete them"
            problem_ko = "example.org 사용자가 하나도 남아 있지 않습니다. 삭제하지 말고 비활성화하세요"
        elif inactive_com:
            problem = f"{inactive_com} example.com users were deactivated too; only example.org"
            problem_ko = (f"example.com 사용자 {inactive_com}명도 비활성화되었습니다. "
                          "example.org 사용자만 비활성화하세요")
    return verdict(
        problem is None,
        right="every example.org user is inactive, the others are untouched, "
        "and no migration imports the app's models",
        not_yet=problem or "",
        ko=(
            "example.org 사용자는 모두 비활성 상태이고, 다른 사용자는 그대로이며, "
            "앱의 모델을 import하는 마이그레이션도 없습니다",
            problem_ko,
        ),
    )


def exercise_2(lab: Lab) -> Verdict:
    """users.email_local: NOT NULL, right for every row, filled in committed batches."""
    head_problem = _not_at_head(lab, "006")
    problem: str | None = head_problem
    problem_ko = head_problem.ko if head_problem else ""
    columns = {c["name"]: c for c in sa.inspect(lab.engine).get_columns("users")}
    if problem is None and "email_local" not in columns:
        problem = "users has no email_local column yet"
        problem_ko = "users에 아직 email_local 컬럼이 없습니다"
    elif problem is None and columns["email_local"]["nullable"]:
        problem = "email_local is still nullable; finish with op.alter_column(..., nullable=False)"
        problem_ko = ("email_local이 아직 NULL을 허용합니다. "
                      "op.alter_column(..., nullable=False)로 마무리하세요")
    if problem is None:
        wrong, rows, transactions = lab.query(
            "select count(*) filter (where email_local is distinct from split_part(email, '@', 1)),"
            " count(*), count(distinct xmin::text) from users"
        )[0]
        # Every row carries the id of the transaction that last wrote it (xmin): a
        # backfill committed in batches leaves one per batch, a single UPDATE just one.
        wanted = math.ceil(rows / BATCH)
        if wrong:
            problem = f"{wrong} rows have an email_local that isn't the part of email before @"
            problem_ko = f"email_local이 email의 @ 앞부분과 다른 행이 {wrong}개 있습니다"
        elif transactions < wanted:
            problem = (
                f"the rows were written by {transactions} transaction(s), not the {wanted} "
                f"that batches of {BATCH:,} ids committed one by one leave "
                "(op.get_context().autocommit_block())"
            )
            problem_ko = (
                f"행을 쓴 트랜잭션이 {transactions}개뿐입니다. id {BATCH:,}개씩 나눈 배치를 하나씩 "
                f"커밋했다면 {wanted}개여야 합니다(op.get_context().autocommit_block())"
            )
    return verdict(
        problem is None,
        right="email_local is NOT NULL and right for every row, filled batch by batch",
        not_yet=problem or "",
        ko=("email_local이 NOT NULL이고 모든 행의 값이 올바르며, 배치 단위로 채워졌습니다", problem_ko),
    )
