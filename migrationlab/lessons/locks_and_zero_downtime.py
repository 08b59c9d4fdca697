"""12_Locks_and_Zero_Downtime: the exercise checks. They read the learner's database
(pg_attribute, pg_constraint, pg_index) and revision files; nothing is changed. (The
lesson's tools are Lab's own: ``lab.session``, ``lab.start``, ``lab.locks``, ``lab.seed``,
``lab.measure``.)"""

from __future__ import annotations

from pathlib import Path

from migrationlab.lab import Lab
from migrationlab.lessons import Verdict, behind_head, not_yet, verdict

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


def _not_at_head(lab: Lab) -> tuple[str, str] | None:
    """What keeps the database from being at the files' head: in English, and in Korean."""
    heads = lab.project.heads()
    if not set(heads) - NOTEBOOK_REVISIONS:
        return "there is no revision after 006 yet", "006 다음 리비전이 아직 없습니다"
    return behind_head(lab)


def exercise_1(lab: Lab) -> Verdict:
    """posts.content NOT NULL, made with CHECK ... NOT VALID, VALIDATE in an autocommit
    block, then SET NOT NULL; the CHECK dropped afterwards, the draft kept."""
    # A VALIDATE that failed in an autocommit block leaves its NOT VALID constraint
    # committed, and running the migration again would fail on it: say that first.
    stuck = [name for name, valid, _ in lab.query(CHECKS_ON_POSTS) if not valid]
    problem: str | None
    problem_ko: str | None
    if stuck:
        problem = (
            f"{stuck[0]} is still NOT VALID: its VALIDATE failed (a post with no content?) or never "
            f'ran; drop it (lab.sql("ALTER TABLE posts DROP CONSTRAINT {stuck[0]}")), make sure '
            "every post gets content first, and run the migration again"
        )
        problem_ko = (
            f"아직 NOT VALID인 제약 조건이 있습니다: {stuck[0]}. VALIDATE가 실패했거나(내용이 없는 "
            "게시글이 있나요?) 실행되지 않았습니다. 이 제약 조건을 삭제하고"
            f'(lab.sql("ALTER TABLE posts DROP CONSTRAINT {stuck[0]}")), 먼저 모든 게시글에 '
            "내용이 들어가게 한 다음, 마이그레이션을 다시 실행하세요"
        )
    else:
        problem, problem_ko = _not_at_head(lab) or (None, None)
    if problem is None and not lab.query(CONTENT_NOT_NULL)[0][0]:
        problem = "posts.content is still nullable"
        problem_ko = "posts.content가 아직 NULL을 허용합니다"
    if problem is None:
        leftover = [name for name, _, definition in lab.query(CHECKS_ON_POSTS)
                    if "content IS NOT NULL" in definition]
        if leftover:
            problem = (
                f"the CHECK {', '.join(leftover)} is still there; once the column is NOT NULL it "
                "only repeats it: drop it in the same revision (op.drop_constraint)"
            )
            problem_ko = (
                f"CHECK 제약 조건이 아직 남아 있습니다: {', '.join(leftover)}. 컬럼이 NOT NULL이 "
                "되면 이 CHECK는 같은 조건을 되풀이할 뿐이니, 같은 리비전에서 삭제하세요"
                "(op.drop_constraint)"
            )
    if problem is None and lab.query(DRAFT)[0][0] != 1:
        problem = "the post called 'Draft' is gone: give it content (an empty string), don't delete it"
        problem_ko = "'Draft' 게시글이 사라졌습니다. 삭제하지 말고 내용(빈 문자열)을 넣어 주세요"
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
            problem_ko = (
                "posts.content는 NOT NULL이지만, 006 다음 리비전 중에 레시피를 담은 것이 없습니다: "
                "op.create_check_constraint(..., postgresql_not_valid=True), 그다음 "
                "ALTER TABLE posts VALIDATE CONSTRAINT ..."
            )
        elif not any("autocommit_block()" in _learners_revisions(lab)[path] for path in recipe):
            problem = (
                f"{recipe[0]} runs VALIDATE in the migration's one transaction, where the "
                "ACCESS EXCLUSIVE lock of ADD CONSTRAINT lasts until COMMIT; put it in "
                "`with op.get_context().autocommit_block():`"
            )
            problem_ko = (
                f"{recipe[0]}: VALIDATE를 마이그레이션의 한 트랜잭션 안에서 실행하고 있습니다. 그 "
                "트랜잭션에서는 ADD CONSTRAINT의 ACCESS EXCLUSIVE 락이 COMMIT까지 유지됩니다. "
                "`with op.get_context().autocommit_block():` 안에 넣으세요"
            )
    return verdict(
        problem is None,
        right="posts.content is NOT NULL, proven by a CHECK validated outside the ACCESS "
        "EXCLUSIVE lock, which is gone again; the draft is still there",
        not_yet=problem or "",
        ko=(
            "posts.content가 NOT NULL입니다. ACCESS EXCLUSIVE 락 밖에서 검증한 CHECK로 증명했고, "
            "그 CHECK는 다시 삭제되었습니다. 'Draft' 게시글도 그대로 있습니다",
            problem_ko or "",
        ),
    )


def exercise_2(lab: Lab) -> Verdict:
    """A valid unique index on posts (user_id, title), built concurrently by a revision
    after 006; no INVALID index left anywhere; no post deleted."""
    problem: str | None = None
    problem_ko: str | None = None
    invalid = lab.query(INVALID_INDEXES)
    if invalid:
        index, table = invalid[0]
        problem = (
            f"{index} on {table} is INVALID (a failed build): find what failed (duplicates: "
            "GROUP BY ... HAVING count(*) > 1), fix the data, "
            f'lab.sql("DROP INDEX CONCURRENTLY {index}"), then run the migration again'
        )
        problem_ko = (
            f"INVALID 인덱스가 있습니다: {table} 테이블의 {index}(실패한 빌드). 무엇이 실패했는지 "
            "찾아(중복: GROUP BY ... HAVING count(*) > 1) 데이터를 고치고, 인덱스를 삭제한 "
            f'다음(lab.sql("DROP INDEX CONCURRENTLY {index}")), 마이그레이션을 다시 실행하세요'
        )
    wanted = [name for name, valid, columns, plain in lab.query(UNIQUE_ON_POSTS)
              if valid and plain and sorted(columns) == ["title", "user_id"]]
    if problem is None:
        problem, problem_ko = _not_at_head(lab) or (None, None)
    if problem is None and not wanted:
        problem = "posts has no unique index on (user_id, title) yet"
        problem_ko = "posts에 아직 (user_id, title) 고유 인덱스가 없습니다"
    if problem is None and lab.query(NOTES)[0][0] != 2:
        problem = "one of Grace's two 'Notes' posts is gone: rename a duplicate, don't delete it"
        problem_ko = ("Grace의 'Notes' 게시글 두 개 중 하나가 사라졌습니다. 중복된 게시글은 삭제하지 "
                      "말고 제목을 바꾸세요")
    if problem is None:
        concurrent = [path for path, text in _learners_revisions(lab).items()
                      if "posts" in text and "postgresql_concurrently=True" in text]
        if not concurrent:
            problem = (
                f"{wanted[0]} is there, but no revision after 006 builds it concurrently: "
                "op.create_index(..., unique=True, postgresql_concurrently=True)"
            )
            problem_ko = (
                f"인덱스({wanted[0]})는 있지만, 006 다음 리비전 중에 이를 동시 빌드로 만드는 것이 "
                "없습니다: op.create_index(..., unique=True, postgresql_concurrently=True)"
            )
        elif not any("autocommit_block()" in _learners_revisions(lab)[p] for p in concurrent):
            problem = f"{concurrent[0]} needs `with op.get_context().autocommit_block():` around the build"
            problem_ko = (f"{concurrent[0]}: 빌드를 `with op.get_context().autocommit_block():` "
                          "블록 안에 넣어야 합니다")
    if problem is not None:
        return not_yet(problem, ko=problem_ko)
    return verdict(
        True,
        right=f"{wanted[0]} is a valid unique index on posts (user_id, title), built "
        "concurrently, and no INVALID index is left",
        not_yet="",
        ko=(
            f"{wanted[0]}: posts (user_id, title)에 대한 유효한 고유 인덱스가 동시 빌드로 "
            "만들어졌고, INVALID 인덱스는 남아 있지 않습니다",
            "",
        ),
    )
