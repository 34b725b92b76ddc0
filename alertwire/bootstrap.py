"""First start: the data directory, the encryption key and the admin token (SPEC §8, §9)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from alertwire.domain.crypto import new_key
from alertwire.domain.tokens import generate_token
from alertwire.settings import Settings
from alertwire.store import Store

KEY_FILE = "secret.key"
ADMIN_TOKEN_FILE = "admin-token"


def _write_private(path: Path, content: str) -> None:
    """Create `path` readable by its owner only, never briefly world-readable."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content + "\n")


def secret_key(settings: Settings) -> str:
    """`ALERTWIRE_SECRET_KEY`, or the key file in the data directory (created on first use)."""
    if settings.secret_key:
        return settings.secret_key
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / KEY_FILE
    try:
        _write_private(path, new_key())
    except FileExistsError:
        pass
    return path.read_text().strip()


@dataclass(frozen=True)
class AdminToken:
    token: str | None  # set only when generated now: it is shown this once
    path: Path | None  # where a generated token is saved
    source: str  # "env", "generated" or "existing"


async def ensure_admin_token(settings: Settings, store: Store) -> AdminToken:
    if settings.admin_token:
        await store.tokens.ensure(settings.admin_token, "admin (ALERTWIRE_ADMIN_TOKEN)", ["admin"])
        return AdminToken(token=None, path=None, source="env")
    path = settings.data_dir / ADMIN_TOKEN_FILE
    if await store.tokens.count() > 0:
        return AdminToken(token=None, path=path if path.exists() else None, source="existing")
    token = generate_token()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    _write_private(path, token)
    await store.tokens.create(token, "admin (generated on first start)", ["admin"])
    return AdminToken(token=token, path=path, source="generated")
