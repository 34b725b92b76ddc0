"""Inspector bins and the requests they captured.

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bins",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("response_status", sa.Integer, nullable=False),
        sa.Column("response_body", sa.Text, nullable=False),
        sa.Column("response_content_type", sa.String(200), nullable=False),
        sa.Column("response_headers", sa.JSON, nullable=False),
        sa.Column("response_delay", sa.Float, nullable=False),
        sa.Column("max_requests", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "bin_requests",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("bin_id", sa.String(40), sa.ForeignKey("bins.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("ip", sa.String(64)),
        sa.Column("received_at", sa.Float, nullable=False),
    )
    op.create_index("ix_bin_requests_bin", "bin_requests", ["bin_id", "id"])


def downgrade() -> None:
    op.drop_table("bin_requests")
    op.drop_table("bins")
