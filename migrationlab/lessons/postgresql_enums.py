"""14_PostgreSQL_Enums: the exercise checks. They read the learner's database (pg_enum,
users, alembic_version), run `alembic check` on it, and run the learner's revision files
on fresh databases of their own; the learner's database is never changed. (The lesson's
tools are Lab's own: ``lab.schema``, ``lab.changes``, ``lab.sql``.)"""

from __future__ import annotations

import sqlalchemy as sa

from migrationlab.lab import Lab
from migrationlab.lessons import Verdict, not_yet, verdict

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


def _no_revision_yet(lab: Lab) -> str | None:
    if not set(lab.project.heads()) - NOTEBOOK_REVISIONS:
        return (
            "there is no revision after 005 yet; start one with "
            "lab.alembic('revision -m \"Add owner role\" --rev-id 006')"
        )
    return None


def _not_at_head(lab: Lab) -> str | None:
    heads, at = lab.project.heads(), lab.versions() or []
    if at != heads:
        return (
            f"the database is at {', '.join(at) or 'no revision'}, the files' head is "
            f'{", ".join(heads)}; run lab.alembic("upgrade head")'
        )
    return None


def _error(output: str) -> str:
    """What went wrong, in one line: the error a traceback ends with (the line after the
    kit's "  ..."), else the last line; and the migration it happened in."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    error = lines[lines.index("...") + 1] if "..." in lines[:-1] else (lines[-1] if lines else "no output")
    if len(error) > 160:
        error = error[:157] + "..."
    running = [line.split("Running ", 1)[1] for line in lines if "] Running " in line]
    return f"{error} (in {running[-1]})" if running and "..." in lines else error


def exercise_1(lab: Lab) -> Verdict:
    """role has the value owner, added by a revision after 005 that also made a user an
    owner; the database is at head and `alembic check` finds the models in step."""
    problem = _no_revision_yet(lab) or _not_at_head(lab)
    if problem is None and "owner" not in [r[0] for r in lab.query(LABELS, name="role")]:
        problem = "the type role has no value owner yet"
    if problem is None and "owner" not in _labels_on_a_fresh_database(lab):
        problem = (
            "role has owner here, but not on a fresh database brought to head by your files "
            "(was it added with lab.sql?): a migration must add it, or no other database gets it"
        )
    if problem is None and not lab.query("select count(*) from users where role = 'owner'")[0][0]:
        problem = (
            "no user is an owner: the same migration sets one, "
            "e.g. UPDATE users SET role = 'owner' WHERE email = 'grace@example.com'"
        )
    if problem is None:
        check = lab.project.alembic("check", lab.db.url)
        if not check.ok:
            problem = (
                f"`alembic check` says the models and the database differ ({_error(check.output)}); "
                "add owner to Role in app/api/users/models.py too"
            )
    return verdict(
        problem is None,
        right="role has owner, a migration added it and made a user an owner, "
        "and the models agree with the database",
        not_yet=problem or "",
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
    problem = _no_revision_yet(lab)
    if problem is not None:
        return not_yet(problem + " (exercise 1)")
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
        not_yet=problem or "",
    )


def _run(fresh: Lab, args: str, attempt: str, where: str) -> str | None:
    result = fresh.project.alembic(args, fresh.db.url)
    if result.ok:
        return None
    place = f"a fresh database {where}".rstrip()
    return f"on {place}, the {attempt} `alembic {args}` failed: {_error(result.output)}"


def _every_role(fresh: Lab) -> str | None:
    """Give every value of role a user of its own (as a production database would)."""
    try:
        with fresh.engine.begin() as conn:
            conn.execute(sa.text(EVERY_ROLE))
    except sa.exc.DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0]
        return f"a user for each value of role could not be added: {reason}"
    return None


def _round_trip(fresh: Lab, attempt: str) -> str | None:
    problem = _run(fresh, "upgrade 005", attempt, "") or _every_role(fresh)
    if problem is None:
        # Upgraded from 005 in a new transaction, as production is: the type role was
        # created earlier, so a value added now can't be used until it is committed.
        problem = _run(fresh, "upgrade head", attempt, "at 005, with users")
    if problem is None and "owner" not in [r[0] for r in fresh.query(LABELS, name="role")]:
        problem = "on a fresh database, `alembic upgrade head` gives role no value owner (exercise 1)"
    if problem is None:
        problem = _every_role(fresh)
    if problem is not None:
        return problem
    roles = ", ".join(role for role, _ in fresh.query(USERS_PER_ROLE))
    problem = _run(fresh, "downgrade base", attempt, f"at head, with users of every role ({roles})")
    if problem is not None:
        return (
            f"{problem}; a downgrade that takes a value away must first move its users "
            "to one that stays (an UPDATE before sync_enum_values)"
        )
    types = [t for (t,) in fresh.query(ENUM_TYPES)]
    if types:
        return (
            f"after the {attempt} `alembic downgrade base`, the enum type {', '.join(types)} is "
            "still there: the downgrade that drops its column must drop it too"
        )
    tables = [t for (t,) in fresh.query(TABLES)]
    if tables:
        return f"after the {attempt} `alembic downgrade base`, tables are left: {', '.join(tables)}"
    return None
