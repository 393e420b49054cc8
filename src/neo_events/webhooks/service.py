"""Webhook rules for the API: each user's own (others get 404), URLs checked when set.

What is sent, and when, is `webhooks/fanout.py` and `webhooks/delivery.py` (the worker side).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from neo_events import db
from neo_events.audit.service import Origin, record
from neo_events.auth import caps
from neo_events.errors import Conflict, NotFound, ValidationFailed
from neo_events.fields import bigint
from neo_events.jobs import queue
from neo_events.models import FeedState, User, Webhook, WebhookDelivery
from neo_events.protocol import cursor_fields, encode_cursor
from neo_events.webhooks import retention, ssrf
from neo_events.webhooks.schemas import WebhookCreate, WebhookUpdate
from neo_events.webhooks.signing import SecretBox, new_secret

MAX_PER_USER = 20


class TooManyWebhooks(Conflict):
    """A 409 at the cap, as for app passwords and feed tokens (it was a 422 naming no field)."""

    code = "too_many_webhooks"
    title = "Too many webhooks"


DELIVER = "webhook.deliver"
# A webhook with nothing waiting whose next message is a `reminder.due`: claimed in a lane of
# its own (`delivery.py`), back to DELIVER after that message or a failure.
DELIVER_DUE = "webhook.deliver.due"


class WebhookNotFound(NotFound):
    code = "webhook_not_found"
    title = "No such webhook"


def deliver_key(webhook_id: int) -> str:
    return f"webhook:{webhook_id}"


def _check_url(url: str, *, production: bool, allow_private: bool) -> None:
    """What can be known without resolving: scheme, form, and literal private hosts. The
    resolved addresses are checked at every attempt (`delivery`)."""
    try:
        _, host, _, _ = ssrf.check_url(url, require_https=production)
        if not allow_private:
            ssrf.check_literal(host)
    except ssrf.Refused as exc:
        raise ValidationFailed.field(["url"], str(exc)) from None


async def create_webhook(
    session: AsyncSession,
    *,
    actor: User,
    data: WebhookCreate,
    box: SecretBox,
    production: bool,
    allow_private: bool,
    origin: Origin,
) -> tuple[Webhook, str]:
    """A new webhook for the caller and its secret (returned once, stored encrypted). It gets
    the messages from now on."""
    _check_url(data.url, production=production, allow_private=allow_private)
    if await caps.held(session, Webhook, actor.id) >= MAX_PER_USER:
        raise TooManyWebhooks(f"At most {MAX_PER_USER} webhooks per user: delete one first.")
    secret = new_secret()
    now = db.utcnow()
    head = await session.scalar(select(FeedState.last_seq).where(FeedState.id == 1))
    webhook = Webhook(
        user_id=actor.id,
        url=data.url,
        events=sorted(set(data.events)),
        description=data.description,
        secret_encrypted=box.seal(secret),
        after_seq=int(head or 0),
        created_at=now,
        updated_at=now,
    )
    session.add(webhook)
    await session.flush()
    await retention.ensure_job(session)  # the deliveries log's pruning, from the first webhook
    _audit(session, "webhook.created", actor, webhook, origin, {"url": webhook.url})
    return webhook, secret


def _audit(
    session: AsyncSession,
    action: str,
    actor: User,
    webhook: Webhook,
    origin: Origin,
    details: dict[str, Any],
) -> None:
    record(
        session,
        action=action,
        origin=origin,
        actor_id=actor.id,
        target_type="webhook",
        target_id=webhook.id,
        details=details,
    )


async def list_webhooks(session: AsyncSession, *, actor: User) -> list[Webhook]:
    return list(
        await session.scalars(
            select(Webhook).where(Webhook.user_id == actor.id).order_by(Webhook.id)
        )
    )


# A check of a webhook read for a write (an `If-Match`), raising to refuse it.
Check = Callable[[Webhook], None]


async def get_webhook(
    session: AsyncSession, *, actor: User, webhook_id: int, lock: bool = False
) -> Webhook:
    """The caller's webhook; anyone else's is a 404, as if it did not exist."""
    query = select(Webhook).where(Webhook.id == webhook_id, Webhook.user_id == actor.id)
    if lock:
        query = query.with_for_update()
    webhook = await session.scalar(query)
    if webhook is None:
        raise WebhookNotFound
    return webhook


async def update_webhook(
    session: AsyncSession,
    *,
    actor: User,
    webhook_id: int,
    data: WebhookUpdate,
    production: bool,
    allow_private: bool,
    origin: Origin,
    unchanged: Check | None = None,
) -> Webhook:
    """Change URL, types, description; `enabled` turns it off, or back on after failures
    (sending resumes with the oldest message not yet delivered). `unchanged`: a check of
    the webhook as it stands, its row locked (the request's `If-Match`), before anything
    is changed."""
    webhook = await get_webhook(session, actor=actor, webhook_id=webhook_id, lock=True)
    if unchanged is not None:
        unchanged(webhook)
    changed = data.model_dump(exclude_unset=True)
    now = db.utcnow()
    moved = data.url is not None and data.url != webhook.url
    if data.url is not None:
        _check_url(data.url, production=production, allow_private=allow_private)
        webhook.url = data.url
    if data.events is not None:
        webhook.events = sorted(set(data.events))
    if "description" in changed:
        webhook.description = data.description
    if data.enabled is True and webhook.disabled_at is not None:
        webhook.disabled_at = None
        webhook.disabled_reason = None
        # What happened while it was off is not sent (the fan-out skipped it then).
        head = await session.scalar(select(FeedState.last_seq).where(FeedState.id == 1))
        webhook.after_seq = max(webhook.after_seq, int(head or 0))
        await _resume(session, webhook, now)
    elif data.enabled is False and webhook.disabled_at is None:
        webhook.disabled_at = now
        webhook.disabled_reason = "disabled by its owner"
    elif moved and webhook.disabled_at is None:
        await _resume(session, webhook, now)  # a new address: no waiting out the old backoff
    webhook.updated_at = now
    _audit(session, "webhook.updated", actor, webhook, origin, {"fields": sorted(changed)})
    return webhook


async def _resume(session: AsyncSession, webhook: Webhook, now: datetime) -> None:
    """Re-enabled or moved to a new URL: what failed last is tried again first, now and with
    a fresh retry window, then what waited behind it."""
    head = await session.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook.id, WebhookDelivery.status != "delivered")
        .order_by(WebhookDelivery.seq)
        .limit(1)
    )
    if head is None:
        return
    head.status = "pending"
    head.first_attempt_at = None
    head.next_attempt_at = now
    await queue.schedule(
        session,
        kind=DELIVER,
        key=deliver_key(webhook.id),
        due_at=now,
        payload={"webhook_id": webhook.id},
        owner_id=webhook.user_id,
    )


async def delete_webhook(
    session: AsyncSession,
    *,
    actor: User,
    webhook_id: int,
    origin: Origin,
    unchanged: Check | None = None,
) -> None:
    """`unchanged`: as `update_webhook`'s."""
    webhook = await get_webhook(session, actor=actor, webhook_id=webhook_id, lock=True)
    if unchanged is not None:
        unchanged(webhook)
    await queue.cancel(session, [deliver_key(webhook.id)])
    _audit(session, "webhook.deleted", actor, webhook, origin, {"url": webhook.url})
    await session.delete(webhook)


async def list_deliveries(
    session: AsyncSession, *, actor: User, webhook_id: int, limit: int, cursor: str | None
) -> tuple[list[WebhookDelivery], str | None]:
    """The webhook's deliveries, newest first, a page at a time."""
    webhook = await get_webhook(session, actor=actor, webhook_id=webhook_id)
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id)
    if cursor is not None:
        (before,) = cursor_fields(cursor, ("before", bigint))
        query = query.where(WebhookDelivery.seq < before)
    rows = list(await session.scalars(query.order_by(WebhookDelivery.seq.desc()).limit(limit + 1)))
    next_cursor = encode_cursor({"before": rows[limit - 1].seq}) if len(rows) > limit else None
    return rows[:limit], next_cursor
