"""Plumbing for 05_Operations_Cookbook: revision files written by hand, and SQL that
is meant to fail.

    write_revision(lab, "004", revises="003", message="Create comments table",
                   upgrade='op.create_table("comments", ...)',
                   downgrade='op.drop_table("comments")')
"""

from __future__ import annotations

import re
import textwrap

import sqlalchemy as sa

TEMPLATE = '''"""{message}

Revision ID: {revision}
Revises: {revises}
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "{revision}"
down_revision = "{revises}"
branch_labels = None
depends_on = None


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''


def write_revision(lab, revision: str, *, revises: str, message: str, upgrade: str, downgrade: str) -> None:
    """Write alembic/versions/<revision>_<slug>.py in the scratch copy: the fixed parts
    of a revision file around the given upgrade and downgrade bodies."""
    slug = re.sub(r"\W+", "_", message.lower()).strip("_")[:40]  # as alembic.ini's %(slug)s
    path = f"alembic/versions/{revision}_{slug}.py"
    lab.write(
        path,
        TEMPLATE.format(
            message=message,
            revision=revision,
            revises=revises,
            upgrade=_body(upgrade),
            downgrade=_body(downgrade),
        ),
    )


def try_sql(lab, statement: str) -> None:
    """Run SQL that may be refused, and print PostgreSQL's refusal as psql does."""
    try:
        lab.sql(statement)
    except sa.exc.DBAPIError as error:
        print((getattr(error.orig, "pgerror", None) or str(error.orig)).rstrip())


def _body(code: str) -> str:
    return textwrap.indent(textwrap.dedent(code).strip("\n"), "    ")
