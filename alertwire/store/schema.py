"""The database schema (SQLAlchemy Core). Alembic migrations create and evolve it.

Times are Unix epoch seconds (floats): comparable and cheap in SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("scopes", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_used_at", sa.Float),
)

integrations = sa.Table(
    "integrations",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    # Lower-cased name: uniqueness is case-insensitive on both databases.
    sa.Column("name_key", sa.String(100), nullable=False, unique=True),
    sa.Column("method", sa.String(8), nullable=False),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("success_codes", sa.JSON, nullable=False),
    # JSON text, NULL when absent (JSON null is a legal payload and must stay distinct).
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
    # Limits shared by all workers: concurrency cap, token bucket, circuit breaker.
    sa.Column("max_concurrency", sa.Integer, nullable=False, server_default="10"),
    sa.Column("rate_limit", sa.Float),
    sa.Column("rate_tokens", sa.Float),
    sa.Column("rate_checked_at", sa.Float),
    sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("circuit_open_until", sa.Float),
    sa.Column("redaction_rules", sa.JSON),  # the integration's own (SPEC §8); NULL: none
)

integration_tests = sa.Table(
    "integration_tests",
    metadata,
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
    sa.Index("ix_integration_tests_latest", "integration_id", "created_at"),
)

triggers = sa.Table(
    "triggers",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("name_key", sa.String(100), nullable=False, unique=True),
    sa.Column("filter", sa.Text, nullable=False),
    sa.Column("frequency", sa.String(16), nullable=False),
    sa.Column("threat_level", sa.String(16)),
    sa.Column("throttle", sa.JSON),
    sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
    # Digests: the end of the last period already sent (exactly-once across restarts).
    sa.Column("digest_sent_until", sa.Float),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

trigger_channels = sa.Table(
    "trigger_channels",
    metadata,
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
    sa.Index("ix_trigger_channels_integration", "integration_id"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    # Time-ordered ids: newest-first paging is an index scan on the primary key.
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    # The object's text exactly as received: same bytes, key order and spacing.
    sa.Column("body", sa.Text, nullable=False),
    sa.Index("ix_alerts_received_at", "received_at"),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("alert_id", sa.String(40), sa.ForeignKey("alerts.id", ondelete="CASCADE")),
    sa.Column(
        "integration_id",
        sa.String(40),
        sa.ForeignKey("integrations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("trigger_id", sa.String(40), sa.ForeignKey("triggers.id", ondelete="SET NULL")),
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
    # "alert" (one alert), "throttled" (an alert standing for others), "digest" (a period).
    sa.Column("kind", sa.String(16), nullable=False, server_default="alert"),
    sa.Column("alert_count", sa.Integer, nullable=False, server_default="1"),
    sa.Column("payload", sa.Text),  # the body when it is not an alert as received (digests)
    # A dead delivery and the one re-sent to its integration's fallback, linked both ways.
    sa.Column("fallback_of", sa.String(40)),
    sa.Column("fallback_delivery_id", sa.String(40)),
    # Waiting deliveries in due order: what claims read, without scanning the backlog.
    sa.Index("ix_deliveries_waiting", "next_attempt_at",
             sqlite_where=sa.text("status IN ('pending', 'failed')"),
             postgresql_where=sa.text("status IN ('pending', 'failed')")),
    sa.Index("ix_deliveries_lease", "lease_until"),
    sa.Index("ix_deliveries_alert", "alert_id"),
    sa.Index("ix_deliveries_integration", "integration_id", "created_at"),
    sa.Index("ix_deliveries_trigger", "trigger_id", "created_at"),
)

# Deployment-wide settings as JSON values: `redaction_rules` (SPEC §8).
settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

attempts = sa.Table(
    "attempts",
    metadata,
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
    sa.Column("request_headers", sa.JSON, nullable=False),  # secret values masked
    sa.Column("response_headers", sa.JSON),
    sa.Column("response_body", sa.Text),  # first 4 KiB
    sa.Index("ix_attempts_delivery", "delivery_id", "attempted_at"),
)

bins = sa.Table(
    "bins",
    metadata,
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

bin_requests = sa.Table(
    "bin_requests",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("bin_id", sa.String(40), sa.ForeignKey("bins.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("headers", sa.JSON, nullable=False),  # [[name, value], ...] in arrival order
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("ip", sa.String(64)),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Index("ix_bin_requests_bin", "bin_id", "id"),
)

throttle_groups = sa.Table(
    "throttle_groups",
    metadata,
    sa.Column("trigger_id", sa.String(40), sa.ForeignKey("triggers.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("group_key", sa.String(512), primary_key=True),
    sa.Column("last_sent_at", sa.Float, nullable=False),
    sa.Column("suppressed", sa.Integer, nullable=False),
    sa.Column("last_alert_id", sa.String(40)),
)

silences = sa.Table(
    "silences",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("filter", sa.Text),
    sa.Column("starts_at", sa.Float, nullable=False),
    sa.Column("ends_at", sa.Float, nullable=False),
    sa.Column("matched_count", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)
