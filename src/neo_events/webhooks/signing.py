"""Standard Webhooks signatures, and the webhook secrets' protection at rest.

A secret is `whsec_` + base64 of 24 random bytes (the Standard Webhooks format). The
signature of a message is `v1,` + base64(HMAC-SHA256(secret bytes, "{id}.{timestamp}.{body}")).
Secrets are stored encrypted with AES-256-GCM under a key derived (HKDF-SHA256) from
SECRET_KEY; keys from SECRET_KEY_PREVIOUS still decrypt after a rotation, and what they
open is sealed again under SECRET_KEY (`webhooks/resealing.py`) so that they can be dropped.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "whsec_"
NONCE_BYTES = 12
_INFO = b"neo-events webhook secrets v1"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }


class UnreadableSecret(Exception):
    """No configured key decrypts this secret (SECRET_KEY changed without rotation)."""


class SecretBox:
    """Encrypts webhook secrets for the database; the first key encrypts, all decrypt."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._ciphers = [AESGCM(self._derive(key)) for key in keys]

    @staticmethod
    def _derive(key: str) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
            key.encode()
        )

    def seal(self, secret: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._ciphers[0].encrypt(nonce, secret.encode(), None)

    def open(self, sealed: bytes) -> str:
        return self._open(sealed)[0]

    def reseal(self, sealed: bytes) -> bytes | None:
        """The secret sealed under the current key if a previous key sealed it, else None."""
        secret, current = self._open(sealed)
        return None if current else self.seal(secret)

    def _open(self, sealed: bytes) -> tuple[str, bool]:
        """The secret, and whether the current key (the first) opened it."""
        nonce, data = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        for index, cipher in enumerate(self._ciphers):
            try:
                return cipher.decrypt(nonce, data, None).decode(), index == 0
            except InvalidTag:
                continue
        raise UnreadableSecret("no configured key decrypts this webhook secret")
