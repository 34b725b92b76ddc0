"""Digests, throttling and silences.

Revision ID: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("triggers") as batch:
        batch.add_column(sa.Column("digest_sent_until", sa.Float))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False,
                                   server_default="alert"))
        batch.add_column(sa.Column("alert_count", sa.Integer, nullable=False,
                                   server_default="1"))
        batch.add_column(sa.Column("payload", sa.Text))
    op.create_index("ix_alerts_received_at", "alerts", ["received_at"])
    op.create_table(
        "throttle_groups",
        sa.Column("trigger_id", sa.String(40),
                  sa.ForeignKey("triggers.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("group_key", sa.String(512), primary_key=True),
        sa.Column("last_sent_at", sa.Float, nullable=False),
        sa.Column("suppressed", sa.Integer, nullable=False),
        sa.Column("last_alert_id", sa.String(40)),
    )
    op.create_table(
        "silences",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("filter", sa.Text),
        sa.Column("starts_at", sa.Float, nullable=False),
        sa.Column("ends_at", sa.Float, nullable=False),
        sa.Column("matched_count", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("silences")
    op.drop_table("throttle_groups")
    op.drop_index("ix_alerts_received_at", "alerts")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("payload")
        batch.drop_column("alert_count")
        batch.drop_column("kind")
    with op.batch_alter_table("triggers") as batch:
        batch.drop_column("digest_sent_until")
