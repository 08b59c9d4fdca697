"""05_Operations_Cookbook: the exercise checks. They read the learner's database, and
try their downgrade inside a transaction that is rolled back (PostgreSQL's DDL is
transactional), so checking changes nothing. (The lesson's helpers are Lab's own:
`lab.try_sql` for SQL that PostgreSQL refuses, %%lab_file for revision files.)"""

from __future__ import annotations

import re

import sqlalchemy as sa

from migrationlab.lab import Lab
from migrationlab.lessons import Hint, Verdict, not_yet, verdict


def exercise_1(lab: Lab) -> Verdict:
    """A tags table with a NOT NULL name and a unique index ix_tags_name, and a downgrade
    that removes it."""
    inspector = sa.inspect(lab.engine)
    if "tags" not in inspector.get_table_names():
        return not_yet(
            "there is no tags table yet: write revision 011 (revises 010) with "
            'op.create_table and op.create_index, then lab.alembic("upgrade head")',
            ko="tags 테이블이 아직 없습니다. op.create_table과 op.create_index로 리비전 011(부모는 010)을 "
            '작성한 다음 lab.alembic("upgrade head")를 실행하세요',
        )
    problem = _tags_problem(inspector) or _not_at_head(lab)
    if problem:
        return not_yet(problem, ko=problem.ko)
    gone = _after_downgrade(
        lab,
        lambda conn: "tags" not in sa.inspect(conn).get_table_names(),
        before=_parent_of(lab, r"create_table\(\s*['\"]tags['\"]"),
    )
    return verdict(
        gone is True,
        right="tags is there with a unique ix_tags_name, and its downgrade drops it again",
        not_yet=gone if isinstance(gone, str) else "the downgrade leaves the tags table behind",
        ko=(
            "tags 테이블에 유니크 인덱스 ix_tags_name이 있고, downgrade하면 다시 삭제됩니다",
            gone.ko if isinstance(gone, Hint) else "downgrade한 뒤에도 tags 테이블이 남아 있습니다",
        ),
    )


def exercise_2(lab: Lab) -> Verdict:
    """comments.user_id, nullable, with fk_comments_user_id_users ON DELETE SET NULL."""
    inspector = sa.inspect(lab.engine)
    columns = {c["name"]: c for c in inspector.get_columns("comments")}
    if "user_id" not in columns:
        return not_yet(
            "comments has no user_id column yet: write the next revision with "
            'op.add_column and op.create_foreign_key, then lab.alembic("upgrade head")',
            ko="comments에 아직 user_id 컬럼이 없습니다. op.add_column과 op.create_foreign_key로 다음 "
            '리비전을 작성한 다음 lab.alembic("upgrade head")를 실행하세요',
        )
    problem = _user_id_problem(inspector, columns["user_id"]) or _not_at_head(lab)
    if problem:
        return not_yet(problem, ko=problem.ko)
    gone = _after_downgrade(
        lab,
        lambda conn: "user_id" not in {c["name"] for c in sa.inspect(conn).get_columns("comments")},
        before=_parent_of(lab, r"add_column\(\s*['\"]comments['\"],\s*sa\.Column\(\s*['\"]user_id"),
    )
    return verdict(
        gone is True,
        right="comments.user_id refers to users ON DELETE SET NULL, and its downgrade removes it",
        not_yet=gone if isinstance(gone, str) else "the downgrade leaves comments.user_id behind",
        ko=(
            "comments.user_id가 ON DELETE SET NULL로 users를 참조하고, downgrade하면 제거됩니다",
            gone.ko if isinstance(gone, Hint) else "downgrade한 뒤에도 comments.user_id가 남아 있습니다",
        ),
    )


def _tags_problem(inspector) -> Hint | None:
    columns = {c["name"]: c for c in inspector.get_columns("tags")}
    indexes = {i["name"]: i for i in inspector.get_indexes("tags")}
    if "name" not in columns:
        return Hint("tags has no name column", "tags에 name 컬럼이 없습니다")
    if columns["name"]["nullable"]:
        return Hint("tags.name may be NULL: give it nullable=False",
                    "tags.name이 NULL을 허용합니다. nullable=False를 주세요")
    if not inspector.get_pk_constraint("tags")["constrained_columns"]:
        return Hint("tags has no primary key", "tags에 기본 키가 없습니다")
    if "ix_tags_name" not in indexes:
        return Hint('there is no index ix_tags_name: name it op.f("ix_tags_name")',
                    '인덱스 ix_tags_name이 없습니다. 이름을 op.f("ix_tags_name")으로 지정하세요')
    if not indexes["ix_tags_name"]["unique"]:
        return Hint("ix_tags_name is not unique: pass unique=True",
                    "ix_tags_name이 유니크 인덱스가 아닙니다. unique=True를 넘기세요")
    return None


def _user_id_problem(inspector, column) -> Hint | None:
    if not column["nullable"]:
        return Hint("comments.user_id must be nullable, or SET NULL has nowhere to go",
                    "comments.user_id는 NULL을 허용해야 합니다. "
                    "그래야 SET NULL이 값을 NULL로 바꿀 수 있습니다")
    keys = [k for k in inspector.get_foreign_keys("comments") if k["constrained_columns"] == ["user_id"]]
    if not keys:
        return Hint("comments.user_id has no foreign key: add one with op.create_foreign_key",
                    "comments.user_id에 외래 키가 없습니다. op.create_foreign_key로 추가하세요")
    if keys[0]["name"] != "fk_comments_user_id_users":
        return Hint(
            f"the foreign key is named {keys[0]['name']}; by the convention it is "
            'fk_comments_user_id_users: op.f("fk_comments_user_id_users")',
            f"외래 키의 이름이 {keys[0]['name']}입니다. 이름 규칙에 따르면 "
            'fk_comments_user_id_users여야 합니다: op.f("fk_comments_user_id_users")',
        )
    ondelete = (keys[0].get("options") or {}).get("ondelete")
    if (ondelete or "").upper() != "SET NULL":
        return Hint(f"the foreign key says ON DELETE {ondelete or 'NO ACTION'}, not SET NULL",
                    f"외래 키가 SET NULL이 아니라 ON DELETE {ondelete or 'NO ACTION'}입니다")
    return None


def _not_at_head(lab: Lab) -> Hint | None:
    heads = lab.project.heads()
    at = lab.versions() or []
    if len(heads) != 1:
        return Hint(f"alembic/versions has {len(heads)} heads: check each new file's down_revision",
                    f"alembic/versions에 헤드가 {len(heads)}개 있습니다. "
                    "새 파일마다 down_revision을 확인하세요")
    if at != heads:
        where_ko = f"{', '.join(at)}에 있고" if at else "어떤 리비전에도 있지 않고"
        return Hint(f"the database is at {', '.join(at) or 'no revision'}, not the head {heads[0]}",
                    f"데이터베이스는 {where_ko}, 헤드는 {heads[0]}입니다")
    return None


def _parent_of(lab: Lab, pattern: str) -> str:
    """The revision just before the newest one whose file matches PATTERN ("-1" if none
    does): downgrading to it runs that revision's downgrade."""
    for rev in lab.project.script().walk_revisions():
        with open(rev.path) as file:
            if re.search(pattern, file.read()):
                parent = rev.down_revision
                return parent if isinstance(parent, str) else "base" if parent is None else parent[0]
    return "-1"


def _after_downgrade(lab: Lab, look, before: str = "-1") -> bool | Hint:
    """Run `alembic downgrade BEFORE` in a transaction, return look(connection) as it left
    the database (or why the downgrade failed), and roll everything back."""
    with lab.engine.connect() as conn:
        transaction = conn.begin()
        try:
            result = lab.project.alembic(f"downgrade {before}", lab.db.url, connection=conn)
            if not result.ok:
                reason = _reason(result.output)
                return Hint(f"its downgrade fails: {reason}", f"downgrade가 실패합니다: {reason}")
            return look(conn)
        finally:
            transaction.rollback()


def _reason(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1].removeprefix("FAILED: ") if lines else "no output"
