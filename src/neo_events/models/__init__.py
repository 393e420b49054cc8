"""Every table of the service, one module per concept. Importing the package registers them
all on `Base.metadata` (Alembic's env and `alembic check` rely on it); import models from
here, `from neo_events.models import Event`."""

from __future__ import annotations

from neo_events.models.accounts import AppPassword, AuthSession, FeedToken, RefreshToken, User
from neo_events.models.audit import AuditEntry, IdempotencyKey
from neo_events.models.caldav import CalendarResource, CalendarSettings
from neo_events.models.events import Event, EventPermission, EventVersion
from neo_events.models.feed import Change, ChangeRecipient, FeedPending, FeedRejected, FeedState
from neo_events.models.invitations import Attendee, OccurrenceResponse
from neo_events.models.jobs import Job, Reminder
from neo_events.models.types import JsonType
from neo_events.models.webhooks import Webhook, WebhookDelivery

__all__ = [
    "User",
    "AuthSession",
    "RefreshToken",
    "FeedToken",
    "AppPassword",
    "AuditEntry",
    "IdempotencyKey",
    "Event",
    "EventPermission",
    "EventVersion",
    "FeedState",
    "FeedPending",
    "FeedRejected",
    "Change",
    "ChangeRecipient",
    "Job",
    "Reminder",
    "Webhook",
    "WebhookDelivery",
    "Attendee",
    "OccurrenceResponse",
    "CalendarResource",
    "CalendarSettings",
    "JsonType",
]
