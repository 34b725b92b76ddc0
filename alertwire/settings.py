"""Every environment variable alertwire reads, in one typed place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from alertwire.domain.durations import parse_duration
from alertwire.domain.ssrf import Network, parse_allowed_targets

DEFAULT_RETRY_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class SettingsError(ValueError):
    """An environment variable holds a value alertwire cannot use."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path(".alertwire")
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    admin_token: str | None = None
    secret_key: str | None = None
    allowed_targets: tuple[Network, ...] = ()
    delivery_timeout: float = 15.0
    retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    lease_seconds: float = 30.0
    auto_disable_after: float = 5 * 86400.0
    circuit_cooldown: float = 30.0
    log_level: str = "info"  # one of LOG_LEVELS
    worker_stall_after: float = 60.0  # /readyz fails when a worker has not come round for this
    workers: bool = True
    demo: bool = False

    @property
    def sqlalchemy_url(self) -> str:
        """The async driver URL for the configured database (SQLite in the data dir by default)."""
        url = self.database_url
        if not url:
            return f"sqlite+aiosqlite:///{(self.data_dir / 'alertwire.db').resolve()}"
        for prefix in ("postgresql://", "postgres://", "postgresql+asyncpg://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        if url.startswith("sqlite://"):
            return "sqlite+aiosqlite://" + url[len("sqlite://") :]
        return url

    @property
    def asyncpg_dsn(self) -> str:
        """The PostgreSQL URL as asyncpg takes it (for the LISTEN connection)."""
        return self.sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    @property
    def base_url(self) -> str:
        """Where users reach this server (console links, bin URLs)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name}: must be positive, got {raw!r}")
    return value


def _duration(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return parse_duration(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}: {exc}") from None


def _retry_schedule(raw: str | None) -> tuple[float, ...]:
    if raw is None or raw.strip() == "":
        return DEFAULT_RETRY_SCHEDULE
    try:
        steps = tuple(float(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise SettingsError(
            f"ALERTWIRE_RETRY_SCHEDULE: expected comma-separated seconds, got {raw!r}"
        ) from None
    if any(step < 0 for step in steps):
        raise SettingsError("ALERTWIRE_RETRY_SCHEDULE: steps must not be negative")
    return steps


def _log_level(raw: str | None) -> str:
    if raw is None or raw.strip() == "":
        return "info"
    level = raw.strip().lower()
    if level not in LOG_LEVELS:
        raise SettingsError(
            f"ALERTWIRE_LOG_LEVEL: expected one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return level


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from the environment (or the mapping given, for tests)."""
    env = os.environ if env is None else env
    port_raw = env.get("ALERTWIRE_PORT", "8080")
    try:
        port = int(port_raw)
    except ValueError:
        raise SettingsError(f"ALERTWIRE_PORT: expected a port number, got {port_raw!r}") from None
    try:
        allowed = parse_allowed_targets(env.get("ALERTWIRE_ALLOWED_TARGETS", ""))
    except ValueError as exc:
        raise SettingsError(f"ALERTWIRE_ALLOWED_TARGETS: {exc}") from None
    return Settings(
        data_dir=Path(env.get("ALERTWIRE_DATA_DIR", ".alertwire")),
        database_url=env.get("ALERTWIRE_DATABASE_URL") or None,
        host=env.get("ALERTWIRE_HOST", "127.0.0.1"),
        port=port,
        public_url=env.get("ALERTWIRE_PUBLIC_URL") or None,
        admin_token=env.get("ALERTWIRE_ADMIN_TOKEN") or None,
        secret_key=env.get("ALERTWIRE_SECRET_KEY") or None,
        allowed_targets=allowed,
        delivery_timeout=_float(env, "ALERTWIRE_DELIVERY_TIMEOUT", 15.0),
        retry_schedule=_retry_schedule(env.get("ALERTWIRE_RETRY_SCHEDULE")),
        lease_seconds=_float(env, "ALERTWIRE_LEASE_SECONDS", 30.0),
        auto_disable_after=_duration(env, "ALERTWIRE_AUTO_DISABLE_AFTER", 5 * 86400.0),
        circuit_cooldown=_float(env, "ALERTWIRE_CIRCUIT_COOLDOWN", 30.0),
        log_level=_log_level(env.get("ALERTWIRE_LOG_LEVEL")),
        worker_stall_after=_duration(env, "ALERTWIRE_WORKER_STALL_AFTER", 60.0),
    )
