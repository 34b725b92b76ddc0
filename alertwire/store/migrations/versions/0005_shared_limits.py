"""Per-integration limits shared by workers: concurrency cap, rate limit, circuit breaker.

Revision ID: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("integrations") as batch:
        batch.add_column(sa.Column("max_concurrency", sa.Integer, nullable=False,
                                   server_default="10"))
        batch.add_column(sa.Column("rate_limit", sa.Float))
        batch.add_column(sa.Column("rate_tokens", sa.Float))
        batch.add_column(sa.Column("rate_checked_at", sa.Float))
        batch.add_column(sa.Column("consecutive_failures", sa.Integer, nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("circuit_open_until", sa.Float))
    op.create_index("ix_deliveries_lease", "deliveries", ["lease_until"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_lease", "deliveries")
    with op.batch_alter_table("integrations") as batch:
        for name in ("circuit_open_until", "consecutive_failures", "rate_checked_at",
                     "rate_tokens", "rate_limit", "max_concurrency"):
            batch.drop_column(name)
