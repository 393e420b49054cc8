"""Webhook requests and responses (SPEC §14)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from neo_events.fields import NO_CONTROLS, NO_NUL

# Every message type a user can get live (SPEC §8, §13, §14); "*" is all of them.
MESSAGE_TYPES = frozenset(
    {
        "event.created",
        "event.updated",
        "event.deleted",
        "event.rolled_back",
        "event.shared",
        "event.unshared",
        "permission.changed",
        "attendee.invited",
        "attendee.responded",
        "attendee.removed",
        "reminder.due",
    }
)
ALL = "*"


def _known(value: str) -> str:
    if value != ALL and value not in MESSAGE_TYPES:
        raise ValueError(f"unknown message type; one of {', '.join(sorted(MESSAGE_TYPES))} or *")
    return value


Url = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    NO_NUL,
    NO_CONTROLS,
]
MessageType = Annotated[str, AfterValidator(_known)]
Types = Annotated[list[MessageType], Field(min_length=1, max_length=len(MESSAGE_TYPES) + 1)]
Description = Annotated[str, StringConstraints(max_length=500), NO_NUL, NO_CONTROLS]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url
    events: Types
    description: Description | None = None


class WebhookUpdate(BaseModel):
    """Any subset; `enabled: true` re-enables a webhook that was disabled after failing."""

    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    events: Types | None = None
    description: Description | None = None
    enabled: bool | None = None


class WebhookRead(BaseModel):
    id: int
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookRead):
    """As read, plus the signing secret: shown this once, never again."""

    secret: str


class WebhookList(BaseModel):
    items: list[WebhookRead]
    next_cursor: str | None = None


class DeliveryRead(BaseModel):
    id: int
    seq: int
    type: str
    status: str  # pending | delivered | failed
    attempts: int
    response_status: int | None
    latency_ms: int | None
    error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None


class DeliveryList(BaseModel):
    items: list[DeliveryRead]
    next_cursor: str | None
