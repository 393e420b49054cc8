"""The token codec remembers tokens it has checked; expiry is still checked at every use."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from neo_events.auth.tokens import TokenCodec, TokenError


def _codec(secret: str = "k" * 40) -> TokenCodec:
    return TokenCodec(secret, access_ttl=timedelta(seconds=1), refresh_ttl=timedelta(days=1))


def test_a_remembered_token_still_expires() -> None:
    codec = _codec()
    claims = codec.issue("access", user_id=7, session_id=3, now=datetime.now(UTC))
    token = codec.encode("access", claims)
    assert codec.decode(token, "access").user_id == 7
    assert codec.decode(token, "access").session_id == 3  # now from memory
    time.sleep(1.1)
    with pytest.raises(TokenError, match="expired"):
        codec.decode(token, "access")
    with pytest.raises(TokenError, match="expired"):
        codec.decode(token, "access")  # and it is not remembered as good again


def test_a_remembered_token_keeps_its_type_and_a_forgery_is_not_remembered() -> None:
    codec = _codec()
    claims = codec.issue("refresh", user_id=1, session_id=1, now=datetime.now(UTC))
    token = codec.encode("refresh", claims)
    codec.decode(token, "refresh")
    with pytest.raises(TokenError, match="not an access token"):
        codec.decode(token, "access")
    forged = _codec("x" * 40).encode("refresh", claims)
    for _ in range(2):
        with pytest.raises(TokenError):
            codec.decode(forged, "refresh")
