"""01_Start_Here: the exercise checks (the lesson needs no helper of its own)."""

from migrationlab.display import table_names
from migrationlab.lab import Lab
from migrationlab.lessons import Verdict, verdict


def exercise_1(lab: Lab) -> Verdict:
    """A table named notes exists in the learner's own database."""
    tables = table_names(lab.engine)
    return verdict(
        "notes" in tables,
        right="your database has a notes table (and no other notebook's database does)",
        not_yet="no notes table in your database yet (it has: "
        + (", ".join(tables) or "no tables")
        + '); try lab.sql("create table notes (id serial primary key, body text)")',
        ko=(
            "여러분의 데이터베이스에 notes 테이블이 있습니다(다른 노트북의 데이터베이스에는 없습니다)",
            "아직 데이터베이스에 notes 테이블이 없습니다(지금 있는 테이블: "
            + (", ".join(tables) or "없음")
            + '). lab.sql("create table notes (id serial primary key, body text)")를 실행해 보세요',
        ),
    )


def exercise_2(lab: Lab) -> Verdict:
    """At least one row in users: the learner added themselves."""
    if "users" not in table_names(lab.engine):
        return verdict(
            False, right="", not_yet='there is no users table; run lab.alembic("upgrade head") first',
            ko=("", 'users 테이블이 없습니다. 먼저 lab.alembic("upgrade head")를 실행하세요'),
        )
    rows = lab.query("select email, name from users order by id")
    return verdict(
        bool(rows),
        right=f"users holds {len(rows)} row{'' if len(rows) == 1 else 's'}, the first: "
        f"{rows[0][1]} <{rows[0][0]}>" if rows else "",
        not_yet="users is empty; insert a row with lab.sql(\"insert into users (email, name) "
        "values ('you@example.com', 'You')\")",
        ko=(
            f"users에 행이 {len(rows)}개 있습니다. 첫 번째 행: {rows[0][1]} <{rows[0][0]}>" if rows else "",
            "users가 비어 있습니다. lab.sql(\"insert into users (email, name) "
            "values ('you@example.com', 'You')\")로 행을 추가하세요",
        ),
    )
