"""Checks for 11_Migrations_in_CI: they read the learner's scratch copy and database."""

from alembic.config import Config
from alembic.script import ScriptDirectory

from migrationlab.exercises import verdict
from migrationlab.pipeline import run_checks


def _script(lab) -> ScriptDirectory:
    return ScriptDirectory.from_config(Config(str(lab.project.root / "alembic.ini")))


def _failed(result) -> str:
    return "; ".join(f"{c.name}: {c.detail}" for c in result.checks if c.status == "FAIL")


def exercise_1(lab) -> bool:
    """One head again, with both 004 and 007 still in its history, and the pipeline green."""
    script = _script(lab)
    heads = script.get_heads()
    if len(heads) != 1:
        return verdict(
            False, right="",
            not_yet=f"{len(heads)} heads ({', '.join(sorted(heads))}); merge them in the scratch copy: "
            'alembic merge heads -m "Merge lowercase emails" --rev-id 008',
        )
    history = {rev.revision for rev in script.iterate_revisions(heads[0], "base")}
    lost = sorted({"004", "007"} - history)
    if lost:
        return verdict(
            False, right="",
            not_yet=f"one head, but revision {', '.join(lost)} is no longer in its history: "
            "both developers' work must reach the head",
        )
    result = run_checks(lab, quiet=True)
    return verdict(
        result.ok,
        right=f"one head ({heads[0]}) with 004 and 007 both in its history, and every check passes",
        not_yet="one head, but the pipeline fails: " + _failed(result),
    )


def exercise_2(lab) -> bool:
    """users.bio in the scratch database, from a migration, and the pipeline green."""
    columns = {
        row[0]
        for row in lab.query(
            "select column_name from information_schema.columns where table_name = 'users'"
        )
    }
    if "bio" not in columns:
        return verdict(
            False, right="",
            not_yet="the scratch database has no users.bio column; add the field to the model, "
            "generate its migration (alembic revision --autogenerate, with a --rev-id), "
            "then alembic upgrade head",
        )
    result = run_checks(lab, quiet=True)
    if result.ok and "bio" not in result.columns.get("users", []):
        return verdict(
            False, right="",
            not_yet="users.bio is in your database, but no migration creates it: "
            "a fresh database at head has no bio column",
        )
    return verdict(
        result.ok,
        right="users.bio is in your database, its migration is in the history, and every check passes",
        not_yet="users.bio is in the database, but the pipeline fails: " + _failed(result),
    )
