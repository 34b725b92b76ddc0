"""API tokens: generation, hashing and what each scope may do (SPEC §8)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Literal

Scope = Literal["admin", "ingest", "read"]
SCOPES: tuple[Scope, ...] = ("admin", "ingest", "read")


def generate_token() -> str:
    return "aw_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a plain hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def grants(held: frozenset[str], needed: Scope) -> bool:
    """Whether a token with scopes `held` may act where `needed` is required.

    `admin` may do everything; `read` only reads; `ingest` only posts alerts.
    """
    return "admin" in held or needed in held
