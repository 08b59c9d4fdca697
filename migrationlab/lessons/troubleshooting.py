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
        return verdict(
            False,
            right="",
            not_yet=f"the database is at {', '.join(at) or 'no revision'}, not at a new head; "
            "fix 004 (slug nullable, fill it, then NOT NULL) and run "
            'lab.alembic("upgrade head")',
        )
    missing = [
        name
        for name, present in [
            ("the tags table", "tags" in inspector.get_table_names()),
            ("users.nickname", "nickname" in columns("users")),
            ("posts.slug", slug is not None),
        ]
        if not present
    ]
    return verdict(
        not missing and slug is not None and not slug["nullable"],
        right=f"the database is at {head}, with tags, users.nickname, and a NOT NULL "
        "posts.slug that the existing post got a value for",
        not_yet=(
            f"the migration ran but {', '.join(missing)} is missing; keep all three steps"
            if missing
            else "posts.slug still allows NULL; end with op.alter_column(..., nullable=False)"
        ),
    )


def exercise_2(lab: Lab) -> Verdict:
    """`alembic current` works again and the database is at head (003)."""
    head, at = _head(lab), _version(lab)
    current = lab.project.alembic("current", lab.db.url)  # run quietly: the check prints one line
    tables = set(sa.inspect(lab.engine).get_table_names())
    return verdict(
        current.ok and at == [head] and {"users", "posts"} <= tables,
        right=f"`alembic current` answers {head} (head), and the tables are untouched",
        not_yet=(
            f"alembic_version holds {', '.join(at) or 'nothing'}; `alembic current` "
            + ("fails" if not current.ok else f"does not show {head}")
            + f"; the tables are those of {lab.schema_revision() or 'no revision'}: stamp the "
            "database with it"
        ),
    )
