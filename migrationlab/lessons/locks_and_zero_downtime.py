"""12_Locks_and_Zero_Downtime: the exercise checks. They read the learner's database
(pg_attribute, pg_constraint, pg_index) and revision files; nothing is changed. (The
lesson's tools are Lab's own: ``lab.session``, ``lab.start``, ``lab.locks``, ``lab.seed``,
``lab.measure``.)"""

from __future__ import annotations

from pathlib import Path

from migrationlab.lab import Lab
from migrationlab.lessons import Verdict, not_yet, verdict

# The revisions the notebook itself writes: the exercises come after them.
NOTEBOOK_REVISIONS = {"001", "002", "003", "004", "005", "006"}

# The rows the exercises must keep: fixed, not deleted.
DRAFT = "select count(*) from posts where title = 'Draft'"
NOTES = "select count(*) from posts where content in ('on compilers', 'on COBOL')"

INVALID_INDEXES = """
    select indexrelid::regclass::text, indrelid::regclass::text
    from pg_index where not indisvalid order by 1"""
CHECKS_ON_POSTS = """
    select conname, convalidated, pg_get_constraintdef(oid)
    from pg_constraint where conrelid = 'posts'::regclass and contype = 'c' order by conname"""
CONTENT_NOT_NULL = """
    select attnotnull from pg_attribute
    where attrelid = 'posts'::regclass and attname = 'content' and not attisdropped"""
# Every unique index on posts: its name, whether it is valid, its columns in order,
# and whether it is a plain one (no expression, no WHERE).
UNIQUE_ON_POSTS = """
    select i.indexrelid::regclass::text, i.indisvalid,
           array(select a.attname::text from unnest(i.indkey) with ordinality k(attnum, n)
                 join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                 order by k.n),
           i.indexprs is null and i.indpred is null
    from pg_index i where i.indrelid = 'posts'::regclass and i.indisunique and not i.indisprimary
    order by 1"""


def _learners_revisions(lab: Lab) -> dict[str, str]:
    """The revision files after the notebook's own: path (relative) -> text."""
    found = {}
    for script in lab.project.script().walk_revisions():
        if script.revision not in NOTEBOOK_REVISIONS and script.path:
            path = Path(script.path)
            found[str(path.relative_to(lab.project.root))] = path.read_text()
    return found


def _not_at_head(lab: Lab) -> str | None:
    heads, at = lab.project.heads(), lab.versions() or []
    if not set(heads) - NOTEBOOK_REVISIONS:
        return "there is no revision after 006 yet"
    if at != heads:
        return (
            f"the database is at {', '.join(at) or 'no revision'}, the files' head is "
            f'{", ".join(heads)}; run lab.alembic("upgrade head")'
        )
    return None


def exercise_1(lab: Lab) -> Verdict:
    """posts.content NOT NULL, made with CHECK ... NOT VALID, VALIDATE in an autocommit
    block, then SET NOT NULL; the CHECK dropped afterwards, the draft kept."""
    # A VALIDATE that failed in an autocommit block leaves its NOT VALID constraint
    # committed, and running the migration again would fail on it: say that first.
    stuck = [name for name, valid, _ in lab.query(CHECKS_ON_POSTS) if not valid]
    problem = (
        f"{stuck[0]} is still NOT VALID: its VALIDATE failed (a post with no content?) or never "
        f'ran; drop it (lab.sql("ALTER TABLE posts DROP CONSTRAINT {stuck[0]}")), make sure '
        "every post gets content first, and run the migration again"
        if stuck else _not_at_head(lab)
    )
    if problem is None and not lab.query(CONTENT_NOT_NULL)[0][0]:
        problem = "posts.content is still nullable"
    if problem is None:
        leftover = [name for name, _, definition in lab.query(CHECKS_ON_POSTS)
                    if "content IS NOT NULL" in definition]
        if leftover:
            problem = (
                f"the CHECK {', '.join(leftover)} is still there; once the column is NOT NULL it "
                "only repeats it: drop it in the same revision (op.drop_constraint)"
            )
    if problem is None and lab.query(DRAFT)[0][0] != 1:
        problem = "the post called 'Draft' is gone: give it content (an empty string), don't delete it"
    if problem is None:
        recipe = [
            path for path, text in _learners_revisions(lab).items()
            if "posts" in text and "VALIDATE CONSTRAINT" in text.upper()
            and ("postgresql_not_valid=True" in text or "NOT VALID" in text.upper())
        ]
        if not recipe:
            problem = (
                "posts.content is NOT NULL, but no revision after 006 holds the recipe: "
                "op.create_check_constraint(..., postgresql_not_valid=True), then "
                "ALTER TABLE posts VALIDATE CONSTRAINT ..."
            )
        elif not any("autocommit_block()" in _learners_revisions(lab)[path] for path in recipe):
            problem = (
                f"{recipe[0]} runs VALIDATE in the migration's one transaction, where the "
                "ACCESS EXCLUSIVE lock of ADD CONSTRAINT lasts until COMMIT; put it in "
                "`with op.get_context().autocommit_block():`"
            )
    return verdict(
        problem is None,
        right="posts.content is NOT NULL, proven by a CHECK validated outside the ACCESS "
        "EXCLUSIVE lock, which is gone again; the draft is still there",
        not_yet=problem or "",
    )


def exercise_2(lab: Lab) -> Verdict:
    """A valid unique index on posts (user_id, title), built concurrently by a revision
    after 006; no INVALID index left anywhere; no post deleted."""
    problem = None
    invalid = lab.query(INVALID_INDEXES)
    if invalid:
        index, table = invalid[0]
        problem = (
            f"{index} on {table} is INVALID (a failed build): find what failed (duplicates: "
            "GROUP BY ... HAVING count(*) > 1), fix the data, "
            f'lab.sql("DROP INDEX CONCURRENTLY {index}"), then run the migration again'
        )
    wanted = [name for name, valid, columns, plain in lab.query(UNIQUE_ON_POSTS)
              if valid and plain and sorted(columns) == ["title", "user_id"]]
    if problem is None:
        problem = _not_at_head(lab)
    if problem is None and not wanted:
        problem = "posts has no unique index on (user_id, title) yet"
    if problem is None and lab.query(NOTES)[0][0] != 2:
        problem = "one of Grace's two 'Notes' posts is gone: rename a duplicate, don't delete it"
    if problem is None:
        concurrent = [path for path, text in _learners_revisions(lab).items()
                      if "posts" in text and "postgresql_concurrently=True" in text]
        if not concurrent:
            problem = (
                f"{wanted[0]} is there, but no revision after 006 builds it concurrently: "
                "op.create_index(..., unique=True, postgresql_concurrently=True)"
            )
        elif not any("autocommit_block()" in _learners_revisions(lab)[p] for p in concurrent):
            problem = f"{concurrent[0]} needs `with op.get_context().autocommit_block():` around the build"
    if problem is not None:
        return not_yet(problem)
    return verdict(
        True,
        right=f"{wanted[0]} is a valid unique index on posts (user_id, title), built "
        "concurrently, and no INVALID index is left",
        not_yet="",
    )
