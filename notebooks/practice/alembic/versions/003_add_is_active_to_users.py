"""Add is_active to users

Revision ID: 003
Revises: 002
Create Date: 2026-02-12 09:00:00.000000

The guide's data-migration pattern: add the column nullable, backfill the
existing rows, then make it NOT NULL. New rows get true from the server default.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "003"
down_revision: str | Sequence[str] | None = "002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add users.is_active: nullable, backfilled, then NOT NULL."""
    op.add_column("users", sa.Column("is_active", sa.Boolean(), nullable=True))
    op.execute("UPDATE users SET is_active = true WHERE is_active IS NULL")
    op.alter_column(
        "users",
        "is_active",
        existing_type=sa.Boolean(),
        nullable=False,
        server_default=sa.true(),
    )


def downgrade() -> None:
    """Drop users.is_active."""
    op.drop_column("users", "is_active")
