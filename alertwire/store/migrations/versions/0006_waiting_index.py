"""Claiming stays cheap with a large backlog: a partial index of waiting deliveries in due
order, so the next due ones and the earliest due time are read without scanning the backlog.
It replaces ix_deliveries_due (status, next_attempt_at), which SQLite's planner preferred and
then sorted the whole backlog on every claim.

Revision ID: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

WAITING = sa.text("status IN ('pending', 'failed')")


def upgrade() -> None:
    op.create_index("ix_deliveries_waiting", "deliveries", ["next_attempt_at"],
                    sqlite_where=WAITING, postgresql_where=WAITING)
    op.drop_index("ix_deliveries_due", "deliveries")


def downgrade() -> None:
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_attempt_at"])
    op.drop_index("ix_deliveries_waiting", "deliveries")
