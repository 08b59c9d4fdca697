"""Revision files as two developers' branches bring them, for 07_Branches_and_Conflicts.

Each developer started from the same revision and added one column to users; the
notebook writes their files into a scratch copy as `git pull` would::

    branches.add_column_revision(lab, "004", "003", "phone_number", "add phone_number to users")
"""

from __future__ import annotations

import re

_TEMPLATE = '''"""{message}

Revision ID: {rev}
Revises: {parent}
Create Date: 2026-02-13 09:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "{rev}"
down_revision: str | None = "{parent}"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add users.{column}."""
    op.add_column("users", sa.Column("{column}", sa.String({length}), nullable=True))


def downgrade() -> None:
    """Drop users.{column}."""
    op.drop_column("users", "{column}")
'''


def revision_path(rev: str, message: str) -> str:
    """Where alembic would put the file: alembic/versions/<rev>_<slug>.py."""
    slug = re.sub(r"[^0-9a-z]+", "_", message.lower()).strip("_")
    return f"alembic/versions/{rev}_{slug}.py"


def add_column_revision(
    lab, rev: str, parent: str, column: str, message: str, *, length: int = 100
) -> str:
    """Write a revision REV, child of PARENT, adding a nullable varchar COLUMN to users.
    Returns the file's project-relative path."""
    path = revision_path(rev, message)
    lab.write(
        path,
        _TEMPLATE.format(
            rev=rev, parent=parent, column=column, message=message, length=length
        ),
    )
    return path
