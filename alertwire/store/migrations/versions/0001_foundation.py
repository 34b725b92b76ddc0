"""Foundation: API tokens, integrations and their tests, triggers and their channels.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_used_at", sa.Float),
    )
    op.create_table(
        "integrations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_key", sa.String(100), nullable=False, unique=True),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("success_codes", sa.JSON, nullable=False),
        sa.Column("test_payload", sa.Text),
        sa.Column("description", sa.Text),
        sa.Column("headers_enc", sa.Text, nullable=False),
        sa.Column("template", sa.String(40), nullable=False),
        sa.Column("template_options", sa.JSON, nullable=False),
        sa.Column("secret_enc", sa.Text, nullable=False),
        sa.Column("previous_secret_enc", sa.Text),
        sa.Column("previous_secret_until", sa.Float),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("disabled_reason", sa.Text),
        sa.Column("fallback_id", sa.String(40)),
        sa.Column("failing_since", sa.Float),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "integration_tests",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "integration_id",
            sa.String(40),
            sa.ForeignKey("integrations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("config_fingerprint", sa.String(64), nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("result", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index(
        "ix_integration_tests_latest", "integration_tests", ["integration_id", "created_at"]
    )
    op.create_table(
        "triggers",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_key", sa.String(100), nullable=False, unique=True),
        sa.Column("filter", sa.Text, nullable=False),
        sa.Column("frequency", sa.String(16), nullable=False),
        sa.Column("threat_level", sa.String(16)),
        sa.Column("throttle", sa.JSON),
        sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "trigger_channels",
        sa.Column(
            "trigger_id",
            sa.String(40),
            sa.ForeignKey("triggers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "integration_id",
            sa.String(40),
            sa.ForeignKey("integrations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_trigger_channels_integration", "trigger_channels", ["integration_id"])


def downgrade() -> None:
    op.drop_table("trigger_channels")
    op.drop_table("triggers")
    op.drop_table("integration_tests")
    op.drop_table("integrations")
    op.drop_table("api_tokens")
