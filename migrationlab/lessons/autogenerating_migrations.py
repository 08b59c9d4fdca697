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
            'and lab.alembic("upgrade head")',
            ko="posts에 아직 새 컬럼이 없습니다. app/api/posts/models.py의 Post에 필드를 추가한 다음 "
            "lab.alembic('revision --autogenerate -m \"...\" --rev-id 007')와 "
            'lab.alembic("upgrade head")를 실행하세요',
        )
    column = new[0]
    model = lab.project.path("app/api/posts/models.py").read_text()
    writers = [path.name for path in _revision_files(lab) if _adds(path.read_text(), column)]
    if f"{column}:" not in model:
        return not_yet(
            f"posts.{column} is in the database but not in the Post model; "
            "autogenerate would write a migration to drop it",
            ko=f"posts.{column} 컬럼이 데이터베이스에는 있지만 Post 모델에는 없습니다. "
            "이대로 자동 생성하면 이 컬럼을 삭제하는 마이그레이션이 만들어집니다",
        )
    if not writers:
        return not_yet(
            f"posts.{column} is in the database, but no revision in alembic/versions adds it",
            ko=f"posts.{column} 컬럼이 데이터베이스에는 있지만, "
            "alembic/versions에 이 컬럼을 추가하는 리비전이 없습니다",
        )
    at, head = _version(lab), _head(lab)
    return verdict(
        at == head,
        right=f"{writers[0]} adds posts.{column}, and the database is at its head, {head}",
        not_yet=f'the database is at {at or "no revision"}, not {head}: run lab.alembic("upgrade head")',
        ko=(
            f"{writers[0]}에서 posts.{column} 컬럼을 추가하고, 데이터베이스가 헤드인 {head}에 있습니다",
            f'데이터베이스가 {head}에 있지 않습니다(지금: {at or "리비전 없음"}). '
            'lab.alembic("upgrade head")를 실행하세요',
        ),
    )


def exercise_2(lab: Lab) -> Verdict:
    """posts.title renamed to headline, with every title kept."""
    columns = _columns(lab, "posts")
    if "headline" not in columns:
        return not_yet(
            "posts has no headline column yet: rename title in the Post model, "
            "autogenerate, fix the script with op.alter_column(..., new_column_name=...), "
            "and upgrade",
            ko="posts에 아직 headline 컬럼이 없습니다. Post 모델에서 title의 이름을 바꾸고, 자동 생성한 뒤, "
            "op.alter_column(..., new_column_name=...)으로 스크립트를 고치고, 업그레이드하세요",
        )
    if "title" in columns:
        return not_yet(
            "posts has both title and headline: the migration added a column instead of renaming one",
            ko="posts에 title과 headline이 모두 있습니다. "
            "마이그레이션이 컬럼 이름을 바꾸지 않고 새 컬럼을 추가했습니다",
        )
    posts, kept = lab.query("select count(*), count(headline) from posts")[0]
    if posts == 0:
        return not_yet(
            "posts is empty, so nothing shows the titles were kept: "
            "go back (downgrade -1), insert a post, and upgrade again",
            ko="posts가 비어 있어서 제목이 유지되었는지 확인할 수 없습니다. "
            "되돌린 다음(downgrade -1) 게시글을 하나 넣고 다시 업그레이드하세요",
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
        ko=(
            f"posts.title이 이제 headline이 되었고, 게시글 {posts}개 모두 제목이 유지되었습니다",
            f"게시글 {posts}개 중 {posts - kept}개의 제목이 사라졌습니다. "
            "마이그레이션이 컬럼을 삭제했습니다. 대신 op.alter_column(..., new_column_name=...)을 사용하세요"
            if kept < posts
            else f"데이터베이스가 {head}에 있지 않습니다(지금: {at}). "
            'lab.alembic("upgrade head")를 실행하세요',
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
