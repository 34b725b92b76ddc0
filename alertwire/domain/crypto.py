"""Secrets at rest: symmetric encryption of header values and signing secrets, and keyed hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken


class DecryptionError(ValueError):
    """A stored secret cannot be read with the current key (the key changed?)."""


def new_key() -> str:
    """A fresh key in the form `ALERTWIRE_SECRET_KEY` and the key file hold."""
    return Fernet.generate_key().decode()


class Cipher:
    """Encrypts small strings with a key derived from the configured secret key.

    Any string works as `ALERTWIRE_SECRET_KEY`: it is stretched with SHA-256 into the
    Fernet key, so operators need not produce Fernet's exact format.
    """

    def __init__(self, secret_key: str) -> None:
        digest = hashlib.sha256(b"alertwire-encryption\0" + secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))
        self._mac_key = hashlib.sha256(b"alertwire-fingerprint\0" + secret_key.encode()).digest()

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise DecryptionError("stored secret cannot be decrypted with this key") from None

    def fingerprint(self, data: bytes) -> str:
        """A keyed hash: comparable, but useless for guessing the secrets inside `data`."""
        return hmac.new(self._mac_key, data, hashlib.sha256).hexdigest()


def new_id(prefix: str) -> str:
    """An opaque, unguessable id such as `itg_5f1c…`."""
    return f"{prefix}_{secrets.token_hex(10)}"
