"""Alerts as received, deliveries and their attempts.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("alert_id", sa.String(40), sa.ForeignKey("alerts.id", ondelete="CASCADE")),
        sa.Column(
            "integration_id",
            sa.String(40),
            sa.ForeignKey("integrations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("trigger_id", sa.String(40),
                  sa.ForeignKey("triggers.id", ondelete="SET NULL")),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempt_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.Float),
        sa.Column("lease_until", sa.Float),
        sa.Column("leased_by", sa.String(64)),
        sa.Column("last_status_code", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("is_fallback", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("delivered_at", sa.Float),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_deliveries_alert", "deliveries", ["alert_id"])
    op.create_index("ix_deliveries_integration", "deliveries", ["integration_id", "created_at"])
    op.create_index("ix_deliveries_trigger", "deliveries", ["trigger_id", "created_at"])
    op.create_table(
        "attempts",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "delivery_id",
            sa.String(40),
            sa.ForeignKey("deliveries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("attempted_at", sa.Float, nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("latency_ms", sa.Float),
        sa.Column("error", sa.Text),
        sa.Column("request_method", sa.String(8), nullable=False),
        sa.Column("request_url", sa.String(2048), nullable=False),
        sa.Column("request_headers", sa.JSON, nullable=False),
        sa.Column("response_headers", sa.JSON),
        sa.Column("response_body", sa.Text),
    )
    op.create_index("ix_attempts_delivery", "attempts", ["delivery_id", "attempted_at"])


def downgrade() -> None:
    op.drop_table("attempts")
    op.drop_table("deliveries")
    op.drop_table("alerts")
