"""14_PostgreSQL_Enums: the exercise checks. They read the learner's database (pg_enum,
users, alembic_version), run `alembic check` on it, and run the learner's revision files
on fresh databases of their own; the learner's database is never changed. (The lesson's
tools are Lab's own: ``lab.schema``, ``lab.changes``, ``lab.sql``.)"""

from __future__ import annotations

import sqlalchemy as sa

from migrationlab.lab import Lab
from migrationlab.lessons import Verdict, behind_head, not_yet, verdict

# The revisions the notebook itself writes: the exercises come after them.
NOTEBOOK_REVISIONS = {"001", "002", "003", "004", "005"}

# The values of an enum type, in their order.
LABELS = """
    select e.enumlabel from pg_enum e join pg_type t on t.oid = e.enumtypid
    where t.typname = :name and t.typnamespace = 'public'::regnamespace
    order by e.enumsortorder"""
# Every enum type of the public schema (a downgrade to base must leave none).
ENUM_TYPES = """
    select typname::text from pg_type
    where typtype = 'e' and typnamespace = 'public'::regnamespace order by 1"""
TABLES = """
    select tablename::text from pg_tables
    where schemaname = 'public' and tablename <> 'alembic_version' order by 1"""
# One user for each value of role, as a production database that uses every value.
EVERY_ROLE = """
    insert into users (email, name, role)
    select v || '-' || (select count(*) from users) || '@example.com', initcap(v), v::role
    from unnest(enum_range(null::role)::text[]) v"""
USERS_PER_ROLE = "select role::text, count(*) from users group by 1 order by 1"

# The two runs of exercise 2's round trip, as a Korean sentence names them.
ATTEMPT_KO = {"first": "첫 번째", "second": "두 번째"}


def _no_revision_yet(lab: Lab) -> tuple[str, str] | None:
    """If there is no revision after the notebook's own: what to do, in English and in Korean."""
    if not set(lab.project.heads()) - NOTEBOOK_REVISIONS:
        return (
            "there is no revision after 005 yet; start one with "
            "lab.alembic('revision -m \"Add owner role\" --rev-id 006')",
            "005 다음 리비전이 아직 없습니다. 다음 명령으로 시작하세요: "
            "lab.alembic('revision -m \"Add owner role\" --rev-id 006')",
        )
    return None


def _error(output: str, korean: bool = False) -> str:
    """What went wrong, in one line: the error a traceback ends with (the line after the
    kit's "  ..."), else the last line; and the migration it happened in (KOREAN: the
    kit's own words in Korean; the error stays as the output has it)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    nothing = "출력 없음" if korean else "no output"
    error = lines[lines.index("...") + 1] if "..." in lines[:-1] else (lines[-1] if lines else nothing)
    if len(error) > 160:
        error = error[:157] + "..."
    running = [line.split("Running ", 1)[1] for line in lines if "] Running " in line]
    if running and "..." in lines:
        return f"{error} ({running[-1]} 실행 중)" if korean else f"{error} (in {running[-1]})"
    return error


def exercise_1(lab: Lab) -> Verdict:
    """role has the value owner, added by a revision after 005 that also made a user an
    owner; the database is at head and `alembic check` finds the models in step."""
    problem: str | None
    problem_ko: str | None
    problem, problem_ko = _no_revision_yet(lab) or behind_head(lab) or (None, None)
    if problem is None and "owner" not in [r[0] for r in lab.query(LABELS, name="role")]:
        problem = "the type role has no value owner yet"
        problem_ko = "타입 role에 아직 값 owner가 없습니다"
    if problem is None and "owner" not in _labels_on_a_fresh_database(lab):
        problem = (
            "role has owner here, but not on a fresh database brought to head by your files "
            "(was it added with lab.sql?): a migration must add it, or no other database gets it"
        )
        problem_ko = (
            "이 데이터베이스의 role에는 owner가 있지만, 여러분의 파일로 head까지 올린 새 데이터베이스에는 "
            "없습니다(lab.sql로 추가했나요?). 마이그레이션이 추가해야 다른 데이터베이스에도 생깁니다"
        )
    if problem is None and not lab.query("select count(*) from users where role = 'owner'")[0][0]:
        problem = (
            "no user is an owner: the same migration sets one, "
            "e.g. UPDATE users SET role = 'owner' WHERE email = 'grace@example.com'"
        )
        problem_ko = (
            "owner인 사용자가 없습니다. 같은 마이그레이션에서 한 명을 owner로 만드세요. "
            "예: UPDATE users SET role = 'owner' WHERE email = 'grace@example.com'"
        )
    if problem is None:
        check = lab.project.alembic("check", lab.db.url)
        if not check.ok:
            problem = (
                f"`alembic check` says the models and the database differ ({_error(check.output)}); "
                "add owner to Role in app/api/users/models.py too"
            )
            problem_ko = (
                "`alembic check`에 따르면 모델과 데이터베이스가 다릅니다"
                f"({_error(check.output, korean=True)}). app/api/users/models.py의 Role에도 "
                "owner를 추가하세요"
            )
    return verdict(
        problem is None,
        right="role has owner, a migration added it and made a user an owner, "
        "and the models agree with the database",
        not_yet=problem or "",
        ko=(
            "role에 owner가 있습니다. 마이그레이션이 이 값을 추가하고 사용자 한 명을 owner로 "
            "만들었으며, 모델과 데이터베이스가 일치합니다",
            problem_ko or "",
        ),
    )


def _labels_on_a_fresh_database(lab: Lab) -> list[str]:
    """The values of role on a fresh database after `alembic upgrade head` (none if it fails)."""
    fresh = lab.another_database()
    try:
        if not fresh.project.alembic("upgrade head", fresh.db.url).ok:
            return []
        return [r[0] for r in fresh.query(LABELS, name="role")]
    finally:
        fresh.close()


def exercise_2(lab: Lab) -> Verdict:
    """The learner's revisions on a fresh database, twice, as a production database meets
    them: at 005 with users, `upgrade head`, a user for every value of role, then
    `downgrade base`, which must leave no table and no enum type behind."""
    missing = _no_revision_yet(lab)
    if missing is not None:
        return not_yet(missing[0] + " (exercise 1)", ko=missing[1] + " (연습 문제 1)")
    problem: tuple[str, str] | None = None
    fresh = lab.another_database()
    try:
        for attempt in ("first", "second"):
            problem = _round_trip(fresh, attempt)
            if problem is not None:
                break
    finally:
        fresh.close()
    return verdict(
        problem is None,
        right="twice on a fresh database: from 005 with users to head, then with a user "
        "holding every value of role down to base, leaving no table and no enum type",
        not_yet=problem[0] if problem else "",
        ko=(
            "새 데이터베이스에서 두 번: 사용자가 있는 005에서 head까지 올리고, role의 모든 값에 "
            "사용자가 있는 상태에서 base까지 내렸으며, 테이블도 열거형 타입도 남지 않았습니다",
            problem[1] if problem else "",
        ),
    )


def _run(fresh: Lab, args: str, attempt: str, where: tuple[str, str]) -> tuple[str, str] | None:
    """Run `alembic ARGS` on FRESH; if it fails, say so, in English and in Korean (WHERE:
    the state of the database, in both)."""
    result = fresh.project.alembic(args, fresh.db.url)
    if result.ok:
        return None
    place = f"a fresh database {where[0]}".rstrip()
    place_ko = f"{where[1]} 새 데이터베이스".lstrip()
    return (
        f"on {place}, the {attempt} `alembic {args}` failed: {_error(result.output)}",
        f"{place_ko}에서 {ATTEMPT_KO[attempt]} `alembic {args}` 실행이 실패했습니다: "
        f"{_error(result.output, korean=True)}",
    )


def _every_role(fresh: Lab) -> tuple[str, str] | None:
    """Give every value of role a user of its own (as a production database would)."""
    try:
        with fresh.engine.begin() as conn:
            conn.execute(sa.text(EVERY_ROLE))
    except sa.exc.DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0]
        return (
            f"a user for each value of role could not be added: {reason}",
            f"role의 값마다 사용자를 한 명씩 추가하지 못했습니다: {reason}",
        )
    return None


def _round_trip(fresh: Lab, attempt: str) -> tuple[str, str] | None:
    """One round trip on FRESH; what went wrong, in English and in Korean, or None."""
    problem = _run(fresh, "upgrade 005", attempt, ("", "")) or _every_role(fresh)
    if problem is None:
        # Upgraded from 005 in a new transaction, as production is: the type role was
        # created earlier, so a value added now can't be used until it is committed.
        problem = _run(fresh, "upgrade head", attempt, ("at 005, with users", "005에 있고 사용자가 있는"))
    if problem is None and "owner" not in [r[0] for r in fresh.query(LABELS, name="role")]:
        problem = (
            "on a fresh database, `alembic upgrade head` gives role no value owner (exercise 1)",
            "새 데이터베이스에서 `alembic upgrade head`를 실행해도 role에 값 owner가 생기지 "
            "않습니다(연습 문제 1)",
        )
    if problem is None:
        problem = _every_role(fresh)
    if problem is not None:
        return problem
    roles = ", ".join(role for role, _ in fresh.query(USERS_PER_ROLE))
    problem = _run(fresh, "downgrade base", attempt, (
        f"at head, with users of every role ({roles})",
        f"head에 있고 모든 역할의 사용자({roles})가 있는",
    ))
    if problem is not None:
        return (
            f"{problem[0]}; a downgrade that takes a value away must first move its users "
            "to one that stays (an UPDATE before sync_enum_values)",
            f"{problem[1]}. 값을 빼는 downgrade는 먼저 그 값을 가진 사용자들을 남는 값으로 "
            "옮겨야 합니다(sync_enum_values 앞에 UPDATE)",
        )
    types = [t for (t,) in fresh.query(ENUM_TYPES)]
    if types:
        return (
            f"after the {attempt} `alembic downgrade base`, the enum type {', '.join(types)} is "
            "still there: the downgrade that drops its column must drop it too",
            f"{ATTEMPT_KO[attempt]} `alembic downgrade base` 뒤에도 열거형 타입이 남아 있습니다: "
            f"{', '.join(types)}. 그 타입의 컬럼을 삭제하는 downgrade가 타입도 삭제해야 합니다",
        )
    tables = [t for (t,) in fresh.query(TABLES)]
    if tables:
        return (
            f"after the {attempt} `alembic downgrade base`, tables are left: {', '.join(tables)}",
            f"{ATTEMPT_KO[attempt]} `alembic downgrade base` 뒤에 테이블이 남아 있습니다: "
            f"{', '.join(tables)}",
        )
    return None
