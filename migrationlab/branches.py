"""Revision files as two developers' branches bring them, for 07_Branches_and_Conflicts.

Each developer started from the same revision and added one column to users; the
notebook writes their files into a scratch copy as `git pull` would::

    branches.add_column_revision(lab, "004", "003", "phone_number", "add phone_number to users")
"""

from __future__ import annotations

from migrationlab.revisions import write_revision


def add_column_revision(
    lab, rev: str, parent: str, column: str, message: str, *, length: int = 100
) -> str:
    """Write a revision REV, child of PARENT, adding a nullable varchar COLUMN to users.
    Returns the file's project-relative path."""
    return write_revision(
        lab, rev, revises=parent, message=message,
        upgrade=f'op.add_column("users", sa.Column("{column}", sa.String({length}), nullable=True))',
        downgrade=f'op.drop_column("users", "{column}")',
    )
