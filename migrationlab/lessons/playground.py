"""16_Playground: the exercise checks, on the learner's own what-if. They find the
learner's revisions in the scratch copy (the files the repository does not have), read the
database, and compare its rows with a fingerprint the learner took (``lab.fingerprint()``).

Exercise 1 sees the database at a revision of the learner's and remembers it, so that
exercise 2 can say the data came back after a real round trip through that revision,
not merely that nothing happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from migrationlab.display import table_names
from migrationlab.infra.sandbox import Sandbox
from migrationlab.lab import Lab
from migrationlab.lessons import Hint, Verdict, disagreement, not_yet, verdict
from migrationlab.project import Project
from migrationlab.scenarios import ROWS_KEPT, Fingerprint

WRITE_ONE = (
    "no revision of yours in alembic/versions yet: write one with "
    "lab.alembic('revision -m \"my what-if\" --rev-id 004') and fill it in with a %%lab_file cell"
)
WRITE_ONE_KO = (
    "alembic/versions에 아직 여러분의 리비전이 없습니다. "
    "lab.alembic('revision -m \"my what-if\" --rev-id 004')로 작성하고 %%lab_file 셀로 내용을 채우세요"
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


@dataclass
class Kept:
    """What ``_rows_kept`` found: why rows are missing (None if none are), and one line per
    table of what differs; each also in Korean."""

    problem: str | None = None
    problem_ko: str = ""
    notes: list[str] = field(default_factory=list)
    notes_ko: list[str] = field(default_factory=list)


def _rows_kept(lab: Lab, before: Fingerprint) -> Kept:
    """Why rows of BEFORE are missing now (or None), and one line per table of what differs."""
    present = set(table_names(lab.engine))
    gone = sorted(set(before.tables) - present)
    if gone:
        return Kept(f"table {', '.join(gone)} of your fingerprint is gone",
                    f"핑거프린트에 있던 테이블이 사라졌습니다({', '.join(gone)})")
    now = Fingerprint.take(lab.engine, list(before.tables))
    kept = Kept()
    for table, old in sorted(before.tables.items()):
        new = now.tables[table]
        if new.rows < old.rows:
            return Kept(f"{table} had {old.rows:,} rows when you took the fingerprint, now {new.rows:,}",
                        f"{table}: 핑거프린트를 남길 때는 {old.rows:,}행이었는데 지금은 {new.rows:,}행입니다")
        small = old.rows <= ROWS_KEPT and new.rows <= ROWS_KEPT
        if small and _keyed(lab, table):
            missing = sorted(old.by_key.keys() - new.by_key.keys())
            if missing:
                return Kept(f"{table}: the rows with keys {', '.join(missing[:5])} are gone",
                            f"{table}: 키가 {', '.join(missing[:5])}인 행이 사라졌습니다")
        if old.digest == new.digest:
            kept.notes.append(f"{table} identical")
            kept.notes_ko.append(f"{table}: 동일")
        elif small:
            changed = sum(1 for k, v in old.by_key.items() if new.by_key.get(k) != v)
            kept.notes.append(f"{table}: every row kept, {changed:,} of them changed")
            kept.notes_ko.append(f"{table}: 모든 행이 남아 있고, 그중 {changed:,}행이 바뀜")
        else:
            kept.notes.append(f"{table}: as many rows as before, some changed")
            kept.notes_ko.append(f"{table}: 행 수는 그대로이고, 일부가 바뀜")
    return kept


def exercise_1(lab: Lab, before: Fingerprint) -> Verdict:
    """The database at a revision the learner wrote, with every row they fingerprinted."""
    mine = _yours(lab)
    if not mine:
        return not_yet(WRITE_ONE, ko=WRITE_ONE_KO)
    at = lab.versions() or []
    applied = [y for y in mine if y.revision in at]
    if not applied:
        return not_yet(
            f"your revision {_named(mine)} is written, but the database is at "
            f"{', '.join(at) or 'no revision'}; run lab.alembic(\"upgrade head\")",
            ko=f"작성한 리비전: {_named(mine)}. 하지만 데이터베이스는 "
            + (f"{', '.join(at)}에 있습니다" if at else "아직 어느 리비전에도 있지 않습니다")
            + ". lab.alembic(\"upgrade head\")를 실행하세요",
        )
    problem = _disagreement(lab)
    if problem:
        return not_yet(problem, ko=problem.ko if isinstance(problem, Hint) else problem)
    rows = sum(t.rows for t in before.tables.values())
    if not rows:
        return not_yet(
            "your fingerprint holds no rows: seed data first (lab.seed(users=1_000)), take "
            "before = lab.fingerprint(), and only then upgrade to your revision",
            ko="핑거프린트에 행이 하나도 없습니다. 먼저 데이터를 채우고(lab.seed(users=1_000)) "
            "before = lab.fingerprint()로 핑거프린트를 남긴 다음에 여러분의 리비전으로 upgrade하세요",
        )
    kept = _rows_kept(lab, before)
    if kept.problem:
        return not_yet(kept.problem + "; lab.compare(before) shows which",
                       ko=kept.problem_ko + ". 자세한 내용은 lab.compare(before)로 확인하세요")
    _SEEN[lab.db.name] = (applied[0].revision, id(before))
    return verdict(
        True,
        right=f"the database is at your revision {_named(applied)}, and the {rows:,} rows you "
        f"fingerprinted are all still there ({'; '.join(kept.notes)})",
        not_yet="",
        ko=(f"데이터베이스가 여러분의 리비전 {_named(applied)}에 있고, 핑거프린트를 남긴 {rows:,}개 "
            f"행이 모두 그대로 있습니다({'; '.join(kept.notes_ko)})", ""),
    )


def exercise_2(lab: Lab, before: Fingerprint) -> Verdict:
    """Back below the learner's revision (after exercise 1 saw the database at it), with
    the schema of the revision it is at and every row exactly as fingerprinted."""
    mine = _yours(lab)
    if not mine:
        return not_yet(WRITE_ONE, ko=WRITE_ONE_KO)
    seen = _SEEN.get(lab.db.name)
    if seen is None or seen[1] != id(before):
        return not_yet(
            "first upgrade to your revision and run lesson.exercise_1(lab, before) there, with "
            "this same fingerprint: it records that the database was at your revision",
            ko="먼저 여러분의 리비전으로 upgrade하고, 그 상태에서 같은 핑거프린트로 "
            "lesson.exercise_1(lab, before)를 실행하세요. 그래야 데이터베이스가 여러분의 리비전에 "
            "있었다는 것이 기록됩니다",
        )
    at = lab.versions() or []
    still = [y for y in mine if y.revision in at]
    if still:
        return not_yet(
            f"the database is still at your revision {_named(still)}; roll it back with "
            'lab.alembic("downgrade -1")',
            ko=f"데이터베이스가 아직 여러분의 리비전 {_named(still)}에 있습니다. "
            'lab.alembic("downgrade -1")로 롤백하세요',
        )
    problem = _disagreement(lab)
    if problem:
        return not_yet(problem, ko=problem.ko if isinstance(problem, Hint) else problem)
    gone = sorted(set(before.tables) - set(table_names(lab.engine)))
    if gone:
        return not_yet(f"table {', '.join(gone)} of your fingerprint is gone: roll back less far",
                       ko=f"핑거프린트에 있던 테이블이 사라졌습니다({', '.join(gone)}). 너무 많이 "
                       "롤백했습니다: 그 테이블이 있는 리비전까지만 롤백하세요")
    comparison = before.compare(Fingerprint.take(lab.engine, list(before.tables)))
    if not comparison:
        differ = "; ".join(line for line in comparison.lines if not line.endswith("identical"))
        return not_yet(
            f"the data is not what your fingerprint holds ({differ}): your downgrade did not give "
            "everything back; lab.compare(before) shows which rows. (If your downgrade adds back "
            "a column that your upgrade dropped, it comes back last in its table, and a "
            "fingerprint, which reads whole rows in column order, sees every row as changed even "
            "if the values are the same: look at those with lab.sql.)",
            ko=f"데이터가 핑거프린트와 다릅니다({differ}). downgrade가 모든 것을 되돌려 놓지 "
            "못했습니다. 어느 행인지는 lab.compare(before)로 확인하세요. (upgrade에서 삭제한 컬럼을 "
            "downgrade가 다시 추가하면 그 컬럼은 테이블의 맨 끝에 붙습니다. 핑거프린트는 행 전체를 "
            "컬럼 순서대로 읽으므로, 값이 같더라도 모든 행이 바뀐 것으로 봅니다. 그런 행은 lab.sql로 "
            "살펴보세요.)",
        )
    return verdict(
        True,
        right=f"the database is back at {', '.join(at) or 'no revision'}, below your revision "
        f"{seen[0]}, with that revision's tables and every row exactly as your fingerprint has it",
        not_yet="",
        ko=(f"데이터베이스가 여러분의 리비전 {seen[0]}보다 아래인 "
            f"{', '.join(at) or '리비전이 없는 상태(base)'}에 돌아와 있습니다. 그 리비전의 테이블이 "
            "있고, 모든 행이 핑거프린트와 똑같습니다", ""),
    )
