"""One module per notebook, named after it: that notebook's helpers and its exercise checks.

    01_Start_Here                 start_here
    02_Where_Am_I                 where_am_i
    03_Moving_Through_History     moving_through_history
    04_Autogenerating_Migrations  autogenerating_migrations
    05_Operations_Cookbook        operations_cookbook
    06_Data_Migrations            data_migrations
    07_Branches_and_Conflicts     branches_and_conflicts
    08_Troubleshooting            troubleshooting
    09_Production                 production
    10_Environments_and_FastAPI   environments_and_fastapi
    11_Migrations_in_CI           migrations_in_ci
    12_Locks_and_Zero_Downtime    locks_and_zero_downtime
    13_Expand_and_Contract        expand_and_contract
    14_PostgreSQL_Enums           postgresql_enums
    15_Safe_Deploys               safe_deploys
    16_Playground                 playground

A lesson never imports another lesson: what several share is a method of ``Lab``
or ``Project``. What every exercise check shares is here: a check prints one
verdict line, in the learner's language, and returns whether it was right::

    verdict(ok, right="the database is at 002", not_yet="run `alembic downgrade -1` first",
            ko=("데이터베이스가 002에 있습니다", "먼저 `alembic downgrade -1`을 실행하세요"))

The language is Korean in a notebook of the Korean track (its kernel runs in
notebooks/ko/) or with LAB_LANGUAGE=ko; English otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from migrationlab.lab import Lab


class Verdict:
    """True or false like a bool; a notebook shows only the printed line, not the value."""

    def __init__(self, ok: bool) -> None:
        self.ok = ok

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return f"Verdict({self.ok})"

    def _ipython_display_(self) -> None:
        pass


def language() -> str:
    """The learner's language: "ko" or "en"."""
    chosen = os.environ.get("LAB_LANGUAGE")
    if chosen in ("ko", "en"):
        return chosen
    return "ko" if Path.cwd().name == "ko" else "en"


def verdict(ok: bool, *, right: str, not_yet: str, ko: tuple[str, str] | None = None) -> Verdict:
    """Print the verdict for one exercise: RIGHT or NOT_YET, or in Korean KO's (right,
    not yet) when the learner reads Korean."""
    if ko is None and isinstance(not_yet, Hint):
        ko = (right, not_yet.ko)
    if ko is not None and language() == "ko":
        print(f"✔ 맞았습니다: {ko[0]}" if ok else f"✘ 아직입니다: {ko[1]}")
    else:
        print(f"✔ Right: {right}" if ok else f"✘ Not yet: {not_yet}")
    return Verdict(ok)


def not_yet(message: str, ko: str | None = None) -> Verdict:
    """The verdict for an exercise that is not done, and why (KO: the same in Korean)."""
    return verdict(False, right="", not_yet=message, ko=("", ko) if ko is not None else None)


class Hint(str):
    """A hint in English that carries its Korean (``.ko``): ``verdict`` prints the one the
    learner reads."""

    ko: str

    def __new__(cls, english: str, korean: str) -> Hint:
        hint = super().__new__(cls, english)
        hint.ko = korean
        return hint


def disagreement(lab: Lab) -> str | None:
    """If alembic_version and the tables disagree, the hint that says so and how to put the
    row right (a command chosen from what the tables are, not from what the row says): a
    Hint, so `verdict` prints it in Korean to a Korean reader."""
    rows = lab.versions()
    actual = lab.schema_revision()
    if actual is None or rows == [actual] or (actual == "base" and not rows):
        return None
    said = ", ".join(rows) if rows else "nothing"
    said_ko = f"기록은 {', '.join(rows)}인데" if rows else "기록은 비어 있는데"
    return Hint(
        f"alembic_version says {said}, but the tables are those of {actual}; make the row "
        f'tell the truth first with lab.alembic("stamp {actual}")',
        f"alembic_version {said_ko}, 테이블은 {actual}의 것입니다. "
        f'먼저 lab.alembic("stamp {actual}")로 기록을 테이블에 맞추세요',
    )


def behind_head(lab: Lab) -> tuple[str, str] | None:
    """If the database is not at the files' head: what to say, in English and in Korean."""
    heads, at = lab.project.heads(), lab.versions() or []
    if at == heads:
        return None
    where_ko = f"데이터베이스는 {', '.join(at)}에 있고" if at else "데이터베이스에는 적용된 리비전이 없고"
    return (
        f"the database is at {', '.join(at) or 'no revision'}, the files' head is "
        f'{", ".join(heads)}; run lab.alembic("upgrade head")',
        f"{where_ko}, 파일의 head는 {', '.join(heads)}입니다. "
        'lab.alembic("upgrade head")를 실행하세요',
    )
