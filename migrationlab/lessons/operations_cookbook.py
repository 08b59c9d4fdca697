"""05_Operations_Cookbook: the exercise checks. They read the learner's database, and
try their downgrade inside a transaction that is rolled back (PostgreSQL's DDL is
transactional), so checking changes nothing. (The lesson's helpers are Lab's own:
`lab.try_sql` for SQL that PostgreSQL refuses, %%lab_file for revision files.)"""

from __future__ import annotations

import re

import sqlalchemy as sa

from migrationlab.lab import Lab
from migrationlab.lessons import Verdict, not_yet, verdict


def exercise_1(lab: Lab) -> Verdict:
    """A tags table with a NOT NULL name and a unique index ix_tags_name, and a downgrade
    that removes it."""
    inspector = sa.inspect(lab.engine)
    if "tags" not in inspector.get_table_names():
        return not_yet(
            "there is no tags table yet: write revision 011 (revises 010) with "
            'op.create_table and op.create_index, then lab.alembic("upgrade head")'
        )
    problem = _tags_problem(inspector) or _not_at_head(lab)
    if problem:
        return not_yet(problem)
    gone = _after_downgrade(
        lab,
        lambda conn: "tags" not in sa.inspect(conn).get_table_names(),
        before=_parent_of(lab, r"create_table\(\s*['\"]tags['\"]"),
    )
    return verdict(
        gone is True,
        right="tags is there with a unique ix_tags_name, and its downgrade drops it again",
        not_yet=gone if isinstance(gone, str) else "the downgrade leaves the tags table behind",
    )


def exercise_2(lab: Lab) -> Verdict:
    """comments.user_id, nullable, with fk_comments_user_id_users ON DELETE SET NULL."""
    inspector = sa.inspect(lab.engine)
    columns = {c["name"]: c for c in inspector.get_columns("comments")}
    if "user_id" not in columns:
        return not_yet(
            "comments has no user_id column yet: write the next revision with "
            'op.add_column and op.create_foreign_key, then lab.alembic("upgrade head")'
        )
    problem = _user_id_problem(inspector, columns["user_id"]) or _not_at_head(lab)
    if problem:
        return not_yet(problem)
    gone = _after_downgrade(
        lab,
        lambda conn: "user_id" not in {c["name"] for c in sa.inspect(conn).get_columns("comments")},
        before=_parent_of(lab, r"add_column\(\s*['\"]comments['\"],\s*sa\.Column\(\s*['\"]user_id"),
    )
    return verdict(
        gone is True,
        right="comments.user_id refers to users ON DELETE SET NULL, and its downgrade removes it",
        not_yet=gone if isinstance(gone, str) else "the downgrade leaves comments.user_id behind",
    )


def _tags_problem(inspector) -> str | None:
    columns = {c["name"]: c for c in inspector.get_columns("tags")}
    indexes = {i["name"]: i for i in inspector.get_indexes("tags")}
    if "name" not in columns:
        return "tags has no name column"
    if columns["name"]["nullable"]:
        return "tags.name may be NULL: give it nullable=False"
    if not inspector.get_pk_constraint("tags")["constrained_columns"]:
        return "tags has no primary key"
    if "ix_tags_name" not in indexes:
        return 'there is no index ix_tags_name: name it op.f("ix_tags_name")'
    if not indexes["ix_tags_name"]["unique"]:
        return "ix_tags_name is not unique: pass unique=True"
    return None


def _user_id_problem(inspector, column) -> str | None:
    if not column["nullable"]:
        return "comments.user_id must be nullable, or SET NULL has nowhere to go"
    keys = [k for k in inspector.get_foreign_keys("comments") if k["constrained_columns"] == ["user_id"]]
    if not keys:
        return "comments.user_id has no foreign key: add one with op.create_foreign_key"
    if keys[0]["name"] != "fk_comments_user_id_users":
        return (
            f"the foreign key is named {keys[0]['name']}; by the convention it is "
            'fk_comments_user_id_users: op.f("fk_comments_user_id_users")'
        )
    ondelete = (keys[0].get("options") or {}).get("ondelete")
    if (ondelete or "").upper() != "SET NULL":
        return f"the foreign key says ON DELETE {ondelete or 'NO ACTION'}, not SET NULL"
    return None


def _not_at_head(lab: Lab) -> str | None:
    heads = lab.project.heads()
    at = lab.versions() or []
    if len(heads) != 1:
        return f"alembic/versions has {len(heads)} heads: check each new file's down_revision"
    if at != heads:
        return f"the database is at {', '.join(at) or 'no revision'}, not the head {heads[0]}"
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


def _after_downgrade(lab: Lab, look, before: str = "-1"):
    """Run `alembic downgrade BEFORE` in a transaction, return look(connection) as it left
    the database (or why the downgrade failed), and roll everything back."""
    with lab.engine.connect() as conn:
        transaction = conn.begin()
        try:
            result = lab.project.alembic(f"downgrade {before}", lab.db.url, connection=conn)
            if not result.ok:
                return f"its downgrade fails: {_reason(result.output)}"
            return look(conn)
        finally:
            transaction.rollback()


def _reason(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1].removeprefix("FAILED: ") if lines else "no output"
