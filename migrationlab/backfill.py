"""Timing and batching for the data-migration notebook (06_Data_Migrations).

A backfill on a big table can run as one UPDATE or as many small ones; this module
writes the revision file both ways and times a command, printing durations as
``single UPDATE: 0.41 s`` (the `timings` rule of nbval_sanitize.cfg hides the number).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

REVISION_PATH = "alembic/versions/006_add_email_domain_to_users.py"

_HEAD = '''"""Add email_domain to users{title_suffix}

Revision ID: 006
Revises: 005
Create Date: 2026-02-20 09:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "006"
down_revision: str | None = "005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
{batch_constant}
# A stub of the table as this revision knows it: not the app's model.
users = sa.table(
    "users",
    sa.column("id", sa.Integer),
    sa.column("email", sa.String),
    sa.column("email_domain", sa.String),
)
domain = sa.func.split_part(users.c.email, "@", 2)


def upgrade() -> None:
    """Add users.email_domain: nullable, backfilled, then NOT NULL."""
    op.add_column("users", sa.Column("email_domain", sa.String(255), nullable=True))
'''

_SINGLE = '''    # One statement for every row, in the same transaction as the ALTER TABLEs.
    op.execute(users.update().values(email_domain=domain))
'''

_BATCHED = '''    # Outside the migration's transaction: each UPDATE commits on its own.
    with op.get_context().autocommit_block():
        conn = op.get_bind()
        last_id = conn.scalar(sa.select(sa.func.max(users.c.id))) or 0
        for first in range(1, last_id + 1, BATCH):
            last = first + BATCH - 1
            done = conn.execute(
                users.update()
                .where(users.c.id.between(first, last), users.c.email_domain.is_(None))
                .values(email_domain=domain)
            )
            print(f"backfilled ids {{first}}-{{last}}: {{done.rowcount}} rows")
'''

_TAIL = '''    op.alter_column("users", "email_domain", nullable=False)


def downgrade() -> None:
    """Drop users.email_domain."""
    op.drop_column("users", "email_domain")
'''


def revision(batch_size: int | None = None) -> str:
    """The text of revision 006: the backfill as one UPDATE, or in batches of BATCH_SIZE ids."""
    if batch_size is None:
        head = _HEAD.format(title_suffix="", batch_constant="")
        return head + _SINGLE + _TAIL
    head = _HEAD.format(
        title_suffix=", backfilled in batches",
        batch_constant=f"\nBATCH = {batch_size:_}  # ids per UPDATE statement\n",
    )
    return head + _BATCHED.format() + _TAIL


@contextlib.contextmanager
def timed(label: str) -> Iterator[None]:
    """Print how long the block took, as ``LABEL: 0.41 s``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        print(f"{label}: {time.perf_counter() - start:.2f} s")
