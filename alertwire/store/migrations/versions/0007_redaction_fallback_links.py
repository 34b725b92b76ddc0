"""Redaction rules (SPEC §8): the deployment's in `settings`, an integration's own in
`integrations.redaction_rules`. Fallback links (SPEC §5): a dead delivery names the
fallback delivery it caused, and the fallback names the delivery it stands in for.

Revision ID: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settings",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    with op.batch_alter_table("integrations") as batch:
        batch.add_column(sa.Column("redaction_rules", sa.JSON))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("fallback_of", sa.String(40)))
        batch.add_column(sa.Column("fallback_delivery_id", sa.String(40)))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("fallback_delivery_id")
        batch.drop_column("fallback_of")
    with op.batch_alter_table("integrations") as batch:
        batch.drop_column("redaction_rules")
    op.drop_table("settings")
