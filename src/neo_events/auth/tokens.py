"""JWTs with one pinned algorithm, required claims and distinct access/refresh types."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt

ALGORITHM = "HS256"
ISSUER = "neo-events"
TokenType = Literal["access", "refresh"]


_VERIFIED_SIZE = 10_000  # tokens remembered as checked: ~2 MB


class TokenError(Exception):
    """The token cannot be used: malformed, badly signed, expired, or of the wrong type."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    session_id: int
    jti: str
    issued_at: datetime
    expires_at: datetime


class TokenCodec:
    """Signs and verifies this service's tokens.

    Key rotation: tokens are signed with `secret_key` only; `previous_keys` (SECRET_KEY_PREVIOUS)
    still verify, so tokens issued before a rotation keep working until they expire.
    """

    def __init__(
        self,
        secret_key: str,
        *,
        access_ttl: timedelta,
        refresh_ttl: timedelta,
        previous_keys: Sequence[str] = (),
    ):
        self._key = secret_key
        self._verify_keys = [secret_key, *(k for k in previous_keys if k != secret_key)]
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        # Tokens whose signature and claims this process has checked, by their exact text:
        # a client sends the same access token with every request for its lifetime, and
        # checking it (HMAC, base64, JSON) costs more than the primary-key read of its
        # session. Only expiry depends on when it is used, and is checked at every use;
        # whether its session is still open is the caller's query, never cached.
        self._verified: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def issue(
        self, kind: TokenType, *, user_id: int, session_id: int, now: datetime
    ) -> TokenClaims:
        ttl = self.access_ttl if kind == "access" else self.refresh_ttl
        return TokenClaims(
            user_id=user_id,
            session_id=session_id,
            jti=uuid.uuid4().hex,
            issued_at=now,
            expires_at=now + ttl,
        )

    def encode(self, kind: TokenType, claims: TokenClaims) -> str:
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "sub": str(claims.user_id),
            "sid": claims.session_id,
            "jti": claims.jti,
            "typ": kind,
            "iat": int(claims.issued_at.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM)

    def decode(self, token: str, kind: TokenType) -> TokenClaims:
        payload = self._verified_payload(token)
        if payload.get("typ") != kind:
            raise TokenError(f"not an {kind} token")
        try:
            return TokenClaims(
                user_id=int(payload["sub"]),
                session_id=int(payload["sid"]),
                jti=str(payload["jti"]),
                issued_at=datetime.fromtimestamp(payload["iat"], UTC),
                expires_at=datetime.fromtimestamp(payload["exp"], UTC),
            )
        except (TypeError, ValueError):
            raise TokenError("malformed claims") from None

    def _verified_payload(self, token: str) -> dict[str, Any]:
        known = self._verified.get(token)
        if known is not None:
            if known["exp"] <= datetime.now(UTC).timestamp():
                del self._verified[token]
                raise TokenError("Signature has expired")
            self._verified.move_to_end(token)
            return known
        payload = self._checked_payload(token)
        self._verified[token] = payload
        if len(self._verified) > _VERIFIED_SIZE:
            self._verified.popitem(last=False)
        return payload

    def _checked_payload(self, token: str) -> dict[str, Any]:
        for key in self._verify_keys:
            try:
                payload: dict[str, Any] = jwt.decode(
                    token,
                    key,
                    algorithms=[ALGORITHM],
                    issuer=ISSUER,
                    options={"require": ["iss", "sub", "sid", "jti", "typ", "iat", "exp"]},
                )
            except jwt.InvalidSignatureError:
                continue  # perhaps signed with a previous key
            except jwt.PyJWTError as exc:
                raise TokenError(str(exc)) from None
            return payload
        raise TokenError("Signature verification failed")
