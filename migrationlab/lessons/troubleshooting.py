"""08_Troubleshooting: states a lesson needs that no alembic command makes, and the
exercise checks."""

from __future__ import annotations

import sqlalchemy as sa

from migrationlab.infra.urls import libpq_url
from migrationlab.lab import Lab
from migrationlab.lessons import Verdict, verdict
from migrationlab.project import environ, forget_app_modules


def create_tables_like_dev(lab: Lab) -> None:
    """Do what the app does at start when ENVIRONMENT=development: call
    app.core.db.create_db_and_tables() (SQLModel's create_all), which makes the
    tables straight from the models and never touches alembic_version."""
    db = lab.import_app("app.core.db")
    try:
        with environ(DATABASE_URL=libpq_url(lab.db.url)):  # as the app's .env would say
            db.create_db_and_tables()
        db.get_engine().dispose()
    finally:
        forget_app_modules()  # the scratch copy's modules go, as after an alembic command
    print("create_db_and_tables(): the tables were created from the models")


def _head(lab: Lab) -> str:
    """The newest revision in the learner's own revision files."""
    heads = lab.project.heads()
    return heads[0] if len(heads) == 1 else ", ".join(heads)


def _version(lab: Lab) -> list[str]:
    return lab.versions() or []


def exercise_1(lab: Lab) -> Verdict:
    """Migration 004 of section 6 applied in full: tags, users.nickname, posts.slug NOT NULL."""
    inspector = sa.inspect(lab.engine)
    head, at = _head(lab), _version(lab)
    columns = lambda table: {c["name"]: c for c in inspector.get_columns(table)}  # noqa: E731
    slug = columns("posts").get("slug")
    if at != [head] or head == "003":
        at_ko = f"{', '.join(at)}에 있고" if at else "어떤 리비전에도 있지 않고"
        return verdict(
            False,
            right="",
            not_yet=f"the database is at {', '.join(at) or 'no revision'}, not at a new head; "
            "fix 004 (slug nullable, fill it, then NOT NULL) and run "
            'lab.alembic("upgrade head")',
            ko=(
                "",
                f"데이터베이스가 {at_ko} 새 head에 있지 않습니다. 004를 고친 뒤(slug를 nullable로 "
                '추가하고, 값을 채우고, 그다음 NOT NULL) lab.alembic("upgrade head")를 실행하세요',
            ),
        )
    absent = [
        (name, name_ko)
        for name, name_ko, present in [
            ("the tags table", "tags 테이블", "tags" in inspector.get_table_names()),
            ("users.nickname", "users.nickname", "nickname" in columns("users")),
            ("posts.slug", "posts.slug", slug is not None),
        ]
        if not present
    ]
    missing = [name for name, _ in absent]
    missing_ko = [name_ko for _, name_ko in absent]
    return verdict(
        not missing and slug is not None and not slug["nullable"],
        right=f"the database is at {head}, with tags, users.nickname, and a NOT NULL "
        "posts.slug that the existing post got a value for",
        not_yet=(
            f"the migration ran but {', '.join(missing)} is missing; keep all three steps"
            if missing
            else "posts.slug still allows NULL; end with op.alter_column(..., nullable=False)"
        ),
        ko=(
            f"데이터베이스가 {head}에 있고, tags 테이블, users.nickname, 그리고 기존 게시글에도 "
            "값이 채워진 NOT NULL posts.slug가 있습니다",
            f"마이그레이션은 실행되었지만 다음이 빠져 있습니다: {', '.join(missing_ko)}. "
            "세 단계를 모두 유지하세요"
            if missing
            else "posts.slug가 아직 NULL을 허용합니다. 마지막에 "
            "op.alter_column(..., nullable=False)를 실행하세요",
        ),
    )


def exercise_2(lab: Lab) -> Verdict:
    """`alembic current` works again and the database is at head (003)."""
    head, at = _head(lab), _version(lab)
    current = lab.project.alembic("current", lab.db.url)  # run quietly: the check prints one line
    tables = set(sa.inspect(lab.engine).get_table_names())
    tables_at = lab.schema_revision()
    return verdict(
        current.ok and at == [head] and {"users", "posts"} <= tables,
        right=f"`alembic current` answers {head} (head), and the tables are untouched",
        not_yet=(
            f"alembic_version holds {', '.join(at) or 'nothing'}; `alembic current` "
            + ("fails" if not current.ok else f"does not show {head}")
            + f"; the tables are those of {tables_at or 'no revision'}: stamp the "
            "database with it"
        ),
        ko=(
            f"`alembic current`가 {head} (head)를 보여 주고, 테이블은 그대로입니다",
            (f"alembic_version의 값은 {', '.join(at)}입니다. " if at else "alembic_version이 비어 있습니다. ")
            + ("`alembic current`가 실패합니다. " if not current.ok
               else f"`alembic current`에 {head} (head)가 나오지 않습니다. ")
            + f"테이블은 {tables_at or '알 수 없는 리비전'}의 상태이므로, 그 리비전으로 데이터베이스를 "
            "stamp하세요",
        ),
    )
