"""06_Data_Migrations: the exercise checks, on the learner's own scratch files and
database. (The lesson times its backfills with ``Lab.timed``.)"""

from __future__ import annotations

import math
import re

import sqlalchemy as sa

from migrationlab.lab import Lab
from migrationlab.lessons import Verdict, verdict

APP_IMPORT = re.compile(r"^\s*(from|import)\s+app(\.|\s|$)", re.MULTILINE)
BATCH = 20_000


def _app_importers(lab: Lab) -> list[str]:
    versions = lab.project.root / "alembic" / "versions"
    return sorted(p.name for p in versions.glob("*.py") if APP_IMPORT.search(p.read_text()))


def _not_at_head(lab: Lab, newer_than: str) -> str | None:
    heads, at = lab.project.heads(), lab.versions() or []
    if heads == [newer_than] or not heads:
        return f"there is no revision after {newer_than} yet"
    if at != heads:
        return (
            f"the database is at {', '.join(at) or 'no revision'}, the files' head is "
            f"{', '.join(heads)}; run lab.alembic(\"upgrade head\")"
        )
    return None


def exercise_1(lab: Lab) -> Verdict:
    """example.org users deactivated by a revision after 006 that imports nothing from app."""
    problem = _not_at_head(lab, "006")
    importers = _app_importers(lab)
    if problem is None and importers:
        problem = f"{', '.join(importers)} imports from app; use a table stub (sa.table) instead"
    if problem is None:
        active_org, org, inactive_com = lab.query(
            "select count(*) filter (where is_active and email like '%@example.org'),"
            " count(*) filter (where email like '%@example.org'),"
            " count(*) filter (where not is_active and email like '%@example.com')"
            " from users"
        )[0]
        if active_org:
            problem = f"{active_org} example.org users are still active"
        elif not org:
            problem = "there are no example.org users left: deactivate them, don't delete them"
        elif inactive_com:
            problem = f"{inactive_com} example.com users were deactivated too; only example.org"
    return verdict(
        problem is None,
        right="every example.org user is inactive, the others are untouched, "
        "and no migration imports the app's models",
        not_yet=problem or "",
    )


def exercise_2(lab: Lab) -> Verdict:
    """users.email_local: NOT NULL, right for every row, filled in committed batches."""
    problem = _not_at_head(lab, "006")
    columns = {c["name"]: c for c in sa.inspect(lab.engine).get_columns("users")}
    if problem is None and "email_local" not in columns:
        problem = "users has no email_local column yet"
    elif problem is None and columns["email_local"]["nullable"]:
        problem = "email_local is still nullable; finish with op.alter_column(..., nullable=False)"
    if problem is None:
        wrong, rows, transactions = lab.query(
            "select count(*) filter (where email_local is distinct from split_part(email, '@', 1)),"
            " count(*), count(distinct xmin::text) from users"
        )[0]
        # Every row carries the id of the transaction that last wrote it (xmin): a
        # backfill committed in batches leaves one per batch, a single UPDATE just one.
        wanted = math.ceil(rows / BATCH)
        if wrong:
            problem = f"{wrong} rows have an email_local that isn't the part of email before @"
        elif transactions < wanted:
            problem = (
                f"the rows were written by {transactions} transaction(s), not the {wanted} "
                f"that batches of {BATCH:,} ids committed one by one leave "
                "(op.get_context().autocommit_block())"
            )
    return verdict(
        problem is None,
        right="email_local is NOT NULL and right for every row, filled batch by batch",
        not_yet=problem or "",
    )
