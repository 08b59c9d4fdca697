"""04_Autogenerating_Migrations: the exercise checks, on the learner's own database and scratch files.
(The lesson's one helper, a file's diff against the repository, is ``Lab.diff``.)"""

from __future__ import annotations

import sqlalchemy as sa

from migrationlab.lab import Lab
from migrationlab.lessons import Verdict, not_yet, verdict

# The posts table as the project's migrations create it (002).
POSTS_COLUMNS = {"id", "title", "content", "user_id", "created_at"}


def exercise_1(lab: Lab) -> Verdict:
    """A column added to Post: in the model, in a revision file, and in the database."""
    new = sorted(_columns(lab, "posts") - POSTS_COLUMNS - {"headline"})
    if not new:
        return not_yet(
            "posts has no new column yet: add a field to Post in app/api/posts/models.py, "
            "then lab.alembic('revision --autogenerate -m \"...\" --rev-id 007') "
            'and lab.alembic("upgrade head")'
        )
    column = new[0]
    model = lab.project.path("app/api/posts/models.py").read_text()
    writers = [path.name for path in _revision_files(lab) if _adds(path.read_text(), column)]
    if f"{column}:" not in model:
        return not_yet(
            f"posts.{column} is in the database but not in the Post model; "
            "autogenerate would write a migration to drop it"
        )
    if not writers:
        return not_yet(f"posts.{column} is in the database, but no revision in alembic/versions adds it")
    at, head = _version(lab), _head(lab)
    return verdict(
        at == head,
        right=f"{writers[0]} adds posts.{column}, and the database is at its head, {head}",
        not_yet=f'the database is at {at or "no revision"}, not {head}: run lab.alembic("upgrade head")',
    )


def exercise_2(lab: Lab) -> Verdict:
    """posts.title renamed to headline, with every title kept."""
    columns = _columns(lab, "posts")
    if "headline" not in columns:
        return not_yet(
            "posts has no headline column yet: rename title in the Post model, "
            "autogenerate, fix the script with op.alter_column(..., new_column_name=...), "
            "and upgrade"
        )
    if "title" in columns:
        return not_yet(
            "posts has both title and headline: the migration added a column instead of renaming one"
        )
    posts, kept = lab.query("select count(*), count(headline) from posts")[0]
    if posts == 0:
        return not_yet(
            "posts is empty, so nothing shows the titles were kept: "
            "go back (downgrade -1), insert a post, and upgrade again"
        )
    at, head = _version(lab), _head(lab)
    return verdict(
        kept == posts and at == head,
        right=f"posts.title is now headline, and all {posts} post(s) kept their title",
        not_yet=(
            f"{posts - kept} of {posts} post(s) lost their title: the migration dropped "
            "the column; use op.alter_column(..., new_column_name=...) instead"
            if kept < posts
            else f'the database is at {at}, not {head}: run lab.alembic("upgrade head")'
        ),
    )


def _columns(lab, table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(lab.engine).get_columns(table)}


def _revision_files(lab):
    return sorted(lab.project.path("alembic/versions").glob("*.py"))


def _adds(text: str, column: str) -> bool:
    return "add_column" in text and (f"'{column}'" in text or f'"{column}"' in text)


def _version(lab: Lab) -> str | None:
    rows = lab.versions() or []
    return rows[0] if len(rows) == 1 else None


def _head(lab: Lab) -> str | None:
    heads = lab.project.heads()
    return heads[0] if len(heads) == 1 else None
