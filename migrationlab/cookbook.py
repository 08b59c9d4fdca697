"""Plumbing for 05_Operations_Cookbook: revision files written by hand, and SQL that
is meant to fail.

    write_revision(lab, "004", revises="003", message="Create comments table",
                   upgrade='op.create_table("comments", ...)',
                   downgrade='op.drop_table("comments")')
"""

from __future__ import annotations

from migrationlab.errors import SQLError
from migrationlab.revisions import write_revision  # noqa: F401  (05 imports it from here)


def try_sql(lab, statement: str) -> None:
    """Run SQL that may be refused, and print PostgreSQL's refusal as psql does."""
    try:
        lab.sql(statement)
    except SQLError as error:
        print(error)
