"""Checks for 08_Troubleshooting."""

import sqlalchemy as sa

from migrationlab.exercises import verdict


def _head(lab) -> str:
    """The newest revision in the learner's own revision files."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(Config(str(lab.project.root / "alembic.ini")))
    return script.get_current_head()


def _version(lab) -> list[str]:
    if "alembic_version" not in sa.inspect(lab.engine).get_table_names():
        return []
    return [row[0] for row in lab.query("select version_num from alembic_version")]


def exercise_1(lab) -> bool:
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
        not missing and not slug["nullable"],
        right=f"the database is at {head}, with tags, users.nickname, and a NOT NULL "
        "posts.slug that the existing post got a value for",
        not_yet=(
            f"the migration ran but {', '.join(missing)} is missing; keep all three steps"
            if missing
            else "posts.slug still allows NULL; end with op.alter_column(..., nullable=False)"
        ),
    )


def exercise_2(lab) -> bool:
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
