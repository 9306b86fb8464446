"""Encryption at rest for ManageIT API tokens (Fernet / MultiFernet)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["FINGERPRINT_SALT", "TokenVault", "VaultError"]

# Constant application salt for fingerprints. Fingerprints only need to be
# stable and non-reversible (the tokens themselves are high-entropy), not
# secret, so this is deliberately not configurable.
FINGERPRINT_SALT = b"manageit-bot/token-fingerprint/v1"


class VaultError(Exception):
    """Encryption/decryption failure. Messages never contain key or token material."""


class TokenVault:
    """Encrypts tokens with the newest key; decrypts with any configured key.

    *keys* are urlsafe-base64 Fernet keys, newest first.
    """

    __slots__ = ("_fernet", "_count")

    def __init__(self, keys: Sequence[str]) -> None:
        if isinstance(keys, (str, bytes)):
            raise TypeError("keys must be a sequence of keys; use TokenVault.parse_keys() for text")
        fernets: list[Fernet] = []
        for n, key in enumerate(keys, start=1):
            fernets.append(_fernet_or_error(key, f"encryption key {n} is not a valid Fernet key"))
        if not fernets:
            raise VaultError("at least one encryption key is required")
        self._fernet = MultiFernet(fernets)
        self._count = len(fernets)

    def encrypt(self, token: str) -> bytes:
        return self._fernet.encrypt(token.encode("utf-8"))

    def decrypt(self, blob: bytes) -> str:
        try:
            return self._fernet.decrypt(bytes(blob)).decode("utf-8")
        except (InvalidToken, TypeError, ValueError):
            raise VaultError(
                "cannot decrypt stored token (wrong ENCRYPTION_KEYS or corrupted data)"
            ) from None

    def rotate(self, blob: bytes) -> bytes:
        """Re-encrypt *blob* with the newest key."""
        try:
            return self._fernet.rotate(bytes(blob))
        except (InvalidToken, TypeError, ValueError):
            raise VaultError(
                "cannot re-encrypt stored token (wrong ENCRYPTION_KEYS or corrupted data)"
            ) from None

    @staticmethod
    def fingerprint(token: str) -> str:
        """Short, stable, non-reversible identifier of a token (16 hex chars)."""
        digest = hmac.new(FINGERPRINT_SALT, token.encode("utf-8"), hashlib.sha256).hexdigest()
        return digest[:16]

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode("ascii")

    @staticmethod
    def parse_keys(text: str) -> list[str]:
        """Parse a comma-separated ENCRYPTION_KEYS value (newest key first).

        Blank items (e.g. a trailing comma) are ignored; item numbers in
        errors count from 1 over the comma-separated items.
        """
        keys: list[str] = []
        for n, item in enumerate((text or "").split(","), start=1):
            key = item.strip()
            if not key:
                continue
            _fernet_or_error(key, f"ENCRYPTION_KEYS item {n} is not a valid Fernet key")
            keys.append(key)
        if not keys:
            raise VaultError("ENCRYPTION_KEYS is empty")
        return keys

    def __repr__(self) -> str:
        return f"<TokenVault keys={self._count}>"


def _fernet_or_error(key: str | bytes, message: str) -> Fernet:
    try:
        return Fernet(key)
    except (ValueError, TypeError, UnicodeError):
        raise VaultError(message) from None
