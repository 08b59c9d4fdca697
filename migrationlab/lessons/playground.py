"""16_Playground: the exercise checks, on the learner's own what-if. They find the
learner's revisions in the scratch copy (the files the repository does not have), read the
database, and compare its rows with a fingerprint the learner took (``lab.fingerprint()``).

Exercise 1 sees the database at a revision of the learner's and remembers it, so that
exercise 2 can say the data came back after a real round trip through that revision,
not merely that nothing happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from migrationlab.display import table_names
from migrationlab.infra.sandbox import Sandbox
from migrationlab.lab import Lab
from migrationlab.lessons import Verdict, disagreement, not_yet, verdict
from migrationlab.project import Project
from migrationlab.scenarios import ROWS_KEPT, Fingerprint

WRITE_ONE = (
    "no revision of yours in alembic/versions yet: write one with "
    "lab.alembic('revision -m \"my what-if\" --rev-id 004') and fill it in with a %%lab_file cell"
)


@dataclass(frozen=True)
class Yours:
    revision: str
    path: str  # relative to the project


# Databases that exercise 1 saw at one of the learner's revisions:
# database name -> (that revision, id() of the fingerprint it was checked against).
_SEEN: dict[str, tuple[str, int]] = {}


def _yours(lab: Lab) -> list[Yours]:
    """The scratch copy's revisions that the repository does not have."""
    if not lab.project.is_scratch:
        return []
    repository = {r.revision for r in Project.repo().script().walk_revisions()}
    root = lab.project.root
    return sorted(
        (Yours(r.revision, str(Path(r.path).relative_to(root)))
         for r in lab.project.script().walk_revisions() if r.revision not in repository),
        key=lambda y: y.revision,
    )


def _named(revisions: list[Yours]) -> str:
    return ", ".join(f"{y.revision} ({y.path})" for y in revisions)


def _shape(engine: sa.Engine) -> dict[str, dict[str, str]]:
    inspector = sa.inspect(engine)
    return {
        table: {c["name"]: str(c["type"]) for c in inspector.get_columns(table)}
        for table in inspector.get_table_names() if table != "alembic_version"
    }


def _disagreement(lab: Lab) -> str | None:
    """Whether alembic_version tells the truth (see ``disagreement``), asked only when the
    tables are not those of the revision the row names: a revision that changes only data
    (a learner's what-if often does) has its parent's tables, and ``disagreement`` would
    name the parent."""
    rows = lab.versions() or []
    if len(rows) == 1:
        with Sandbox.create(lab.db.server_url) as built:
            if lab.project.alembic(f"upgrade {rows[0]}", built.url).ok and \
                    _shape(built.engine) == _shape(lab.engine):
                return None
    return disagreement(lab)


def _keyed(lab: Lab, table: str) -> bool:
    """Whether the fingerprint knows TABLE's rows by primary key (not by their text)."""
    return bool(sa.inspect(lab.engine).get_pk_constraint(table)["constrained_columns"])


def _rows_kept(lab: Lab, before: Fingerprint) -> tuple[str | None, list[str]]:
    """(why rows of BEFORE are missing now, or None; one line per table of what differs)."""
    present = set(table_names(lab.engine))
    gone = sorted(set(before.tables) - present)
    if gone:
        return f"table {', '.join(gone)} of your fingerprint is gone", []
    now = Fingerprint.take(lab.engine, list(before.tables))
    notes = []
    for table, old in sorted(before.tables.items()):
        new = now.tables[table]
        if new.rows < old.rows:
            return f"{table} had {old.rows:,} rows when you took the fingerprint, now {new.rows:,}", []
        small = old.rows <= ROWS_KEPT and new.rows <= ROWS_KEPT
        if small and _keyed(lab, table):
            missing = sorted(old.by_key.keys() - new.by_key.keys())
            if missing:
                return f"{table}: the rows with keys {', '.join(missing[:5])} are gone", []
        if old.digest == new.digest:
            notes.append(f"{table} identical")
        elif small:
            changed = sum(1 for k, v in old.by_key.items() if new.by_key.get(k) != v)
            notes.append(f"{table}: every row kept, {changed:,} of them changed")
        else:
            notes.append(f"{table}: as many rows as before, some changed")
    return None, notes


def exercise_1(lab: Lab, before: Fingerprint) -> Verdict:
    """The database at a revision the learner wrote, with every row they fingerprinted."""
    mine = _yours(lab)
    if not mine:
        return not_yet(WRITE_ONE)
    at = lab.versions() or []
    applied = [y for y in mine if y.revision in at]
    if not applied:
        return not_yet(
            f"your revision {_named(mine)} is written, but the database is at "
            f"{', '.join(at) or 'no revision'}; run lab.alembic(\"upgrade head\")"
        )
    problem = _disagreement(lab)
    if problem:
        return not_yet(problem)
    rows = sum(t.rows for t in before.tables.values())
    if not rows:
        return not_yet(
            "your fingerprint holds no rows: seed data first (lab.seed(users=1_000)), take "
            "before = lab.fingerprint(), and only then upgrade to your revision"
        )
    problem, notes = _rows_kept(lab, before)
    if problem:
        return not_yet(problem + "; lab.compare(before) shows which")
    _SEEN[lab.db.name] = (applied[0].revision, id(before))
    return verdict(
        True,
        right=f"the database is at your revision {_named(applied)}, and the {rows:,} rows you "
        f"fingerprinted are all still there ({'; '.join(notes)})",
        not_yet="",
    )


def exercise_2(lab: Lab, before: Fingerprint) -> Verdict:
    """Back below the learner's revision (after exercise 1 saw the database at it), with
    the schema of the revision it is at and every row exactly as fingerprinted."""
    mine = _yours(lab)
    if not mine:
        return not_yet(WRITE_ONE)
    seen = _SEEN.get(lab.db.name)
    if seen is None or seen[1] != id(before):
        return not_yet(
            "first upgrade to your revision and run lesson.exercise_1(lab, before) there, with "
            "this same fingerprint: it records that the database was at your revision"
        )
    at = lab.versions() or []
    still = [y for y in mine if y.revision in at]
    if still:
        return not_yet(
            f"the database is still at your revision {_named(still)}; roll it back with "
            'lab.alembic("downgrade -1")'
        )
    problem = _disagreement(lab)
    if problem:
        return not_yet(problem)
    gone = sorted(set(before.tables) - set(table_names(lab.engine)))
    if gone:
        return not_yet(f"table {', '.join(gone)} of your fingerprint is gone: roll back less far")
    comparison = before.compare(Fingerprint.take(lab.engine, list(before.tables)))
    if not comparison:
        differ = "; ".join(line for line in comparison.lines if not line.endswith("identical"))
        return not_yet(
            f"the data is not what your fingerprint holds ({differ}): your downgrade did not give "
            "everything back; lab.compare(before) shows which rows. (If your downgrade adds back "
            "a column that your upgrade dropped, it comes back last in its table, and a "
            "fingerprint, which reads whole rows in column order, sees every row as changed even "
            "if the values are the same: look at those with lab.sql.)"
        )
    return verdict(
        True,
        right=f"the database is back at {', '.join(at) or 'no revision'}, below your revision "
        f"{seen[0]}, with that revision's tables and every row exactly as your fingerprint has it",
        not_yet="",
    )
