"""07_Branches_and_Conflicts: teammates' revisions arriving as `git pull` brings them,
and the exercise checks on the learner's own scratch files and database."""

from __future__ import annotations

import sqlalchemy as sa

from migrationlab.lab import Lab
from migrationlab.lessons import Verdict, verdict


def teammates_revision(
    lab: Lab, rev: str, parent: str, column: str, message: str, *, length: int = 100
) -> str:
    """A teammate's revision REV, child of PARENT, adding a nullable varchar COLUMN to
    users, written into LAB's scratch copy as `alembic revision` writes any revision.
    Returns the file's project-relative path."""
    return lab.write_revision(
        rev, message, parent=parent,
        upgrade=f'op.add_column("users", sa.Column("{column}", sa.String({length}), nullable=True))',
        downgrade=f'op.drop_column("users", "{column}")',
    )


def _parents(rev) -> tuple[str, ...]:
    down = rev.down_revision
    if down is None:
        return ()
    return (down,) if isinstance(down, str) else tuple(down)


def _state(lab, column: str):
    """The revision files, their heads, the revisions the database is at, and whether
    users has COLUMN."""
    script = lab.project.script()
    heads = sorted(script.get_heads())
    inspector = sa.inspect(lab.engine)
    names = inspector.get_table_names()
    at = lab.versions() or []
    has_column = "users" in names and column in {c["name"] for c in inspector.get_columns("users")}
    return script, heads, at, has_column


def _applied(
    at: list[str], heads: list[str], has_column: bool, column: str, lab_name: str
) -> tuple[str, str] | None:
    """What is still to do once the files are right (in English and in Korean), or None."""
    if at != heads or not has_column:
        where_ko = f"{', '.join(at)}에 있고" if at else "어떤 리비전에도 있지 않고"
        return (
            f"the files are right, but the database is at {', '.join(at) or 'no revision'} "
            f"and users has no {column} yet; run {lab_name}.alembic(\"upgrade head\")",
            f"파일은 맞지만, 데이터베이스는 {where_ko} users에는 아직 {column} 컬럼이 없습니다. "
            f'{lab_name}.alembic("upgrade head")를 실행하세요',
        )
    return None


def exercise_1(lab: Lab, carol: str = "007") -> Verdict:
    """Carol's branch joined by a merge revision, and the database at the one head."""
    script, heads, at, has_column = _state(lab, "nickname")
    merge = next(
        (r for r in script.walk_revisions() if carol in _parents(r) and len(_parents(r)) > 1),
        None,
    )
    problem: str | None
    if len(heads) > 1:
        problem = (
            f"the files still have {len(heads)} heads ({', '.join(heads)}); join them with "
            "lab.alembic('merge heads -m \"merge 006 and 007\" --rev-id 008')"
        )
        problem_ko = (
            f"파일에 아직 헤드가 {len(heads)}개 있습니다({', '.join(heads)}). "
            "lab.alembic('merge heads -m \"merge 006 and 007\" --rev-id 008')로 합치세요"
        )
    elif merge is None:
        problem = (
            f"one head, but no merge revision lists {carol} as a parent; "
            "this exercise asks for `alembic merge heads`"
        )
        problem_ko = (
            f"헤드는 하나지만, 부모에 {carol}을 포함한 병합 리비전이 없습니다. "
            "이 연습 문제는 `alembic merge heads`로 합치는 문제입니다"
        )
    else:
        problem, problem_ko = _applied(at, heads, has_column, "nickname", "lab") or (None, "")
    return verdict(
        problem is None,
        right=(
            f"merge revision {merge.revision if merge else ''} joins "
            f"{' and '.join(_parents(merge)) if merge else ''}; the database is at the single "
            "head and users has nickname"
        ),
        not_yet=problem or "",
        ko=(
            f"병합 리비전 {merge.revision if merge else ''}에서 "
            f"{', '.join(_parents(merge)) if merge else ''} 브랜치가 합쳐집니다. "
            "데이터베이스는 하나뿐인 헤드에 있고, users에 nickname 컬럼이 있습니다",
            problem_ko,
        ),
    )


def exercise_2(bob: Lab, rev: str = "006") -> Verdict:
    """Bob's revision 006 re-parented onto the head: one straight line, applied."""
    script, heads, at, has_column = _state(bob, "avatar_url")
    merge = next((r for r in script.walk_revisions() if len(_parents(r)) > 1), None)
    problem: str | None
    if len(heads) > 1:
        problem = (
            f"the files still have {len(heads)} heads ({', '.join(heads)}); point "
            f"down_revision (and Revises:) of {rev} at the other head in a %%lab_file --lab bob cell"
        )
        problem_ko = (
            f"파일에 아직 헤드가 {len(heads)}개 있습니다({', '.join(heads)}). %%lab_file --lab bob 셀에서 "
            f"{rev}의 down_revision(그리고 Revises: 줄)이 다른 헤드를 가리키게 하세요"
        )
    elif merge is not None:
        problem = (
            f"revision {merge.revision} is a merge; this exercise asks for a straight line: "
            f"bob.remove its file and re-parent {rev} instead"
        )
        problem_ko = (
            f"병합 리비전이 있습니다({merge.revision}). 이 연습 문제는 일직선 히스토리를 만드는 문제입니다. "
            f"bob.remove로 그 파일을 지우고, 대신 {rev}의 부모를 다시 지정하세요"
        )
    else:
        problem, problem_ko = _applied(at, heads, has_column, "avatar_url", "bob") or (None, "")
    parent = _parents(script.get_revision(rev)) if problem is None else ()
    return verdict(
        problem is None,
        right=(
            f"{rev} now follows {parent[0] if parent else '<base>'} in one straight line; "
            "the database is at the head and users has avatar_url"
        ),
        not_yet=problem or "",
        ko=(
            f"이제 {rev}의 부모는 {parent[0] if parent else '<base>'}이고, 히스토리는 일직선입니다. "
            "데이터베이스는 헤드에 있고, users에 avatar_url 컬럼이 있습니다",
            problem_ko,
        ),
    )
