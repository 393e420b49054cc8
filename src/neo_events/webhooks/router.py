"""HTTP endpoints of SPEC §14 for webhooks: each user's own; anyone else's is a 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from neo_events.auth.dependencies import CurrentUser, RequestOrigin
from neo_events.conditional import (
    NOT_MODIFIED,
    IfNoneMatch,
    ResourceIfMatch,
    conditional_json,
    require_match,
    tag_of,
)
from neo_events.errors import problems
from neo_events.fields import MAX_BIGINT
from neo_events.jobs.worker import secret_box
from neo_events.models import Webhook
from neo_events.settings import Settings
from neo_events.web import (
    Session,
    TransactionalRoute,
    resource_path,
)
from neo_events.webhooks import service
from neo_events.webhooks.schemas import (
    DeliveryList,
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookRead,
    WebhookUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["webhooks"], route_class=TransactionalRoute)

WebhookId = Annotated[int, Path(ge=1, le=MAX_BIGINT, description="the webhook's id")]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _unchanged(if_match: str | None) -> service.Check | None:
    """`If-Match` on the webhook as the write reads it, its row locked (a 412 if it differs)."""
    if if_match is None:
        return None
    return lambda webhook: require_match(if_match, _read(webhook))


def _read(webhook: Webhook) -> WebhookRead:
    return WebhookRead(
        id=webhook.id,
        url=webhook.url,
        events=list(webhook.events),
        description=webhook.description,
        enabled=webhook.disabled_at is None,
        disabled_at=webhook.disabled_at,
        disabled_reason=webhook.disabled_reason,
        created_at=webhook.created_at,
        updated_at=webhook.updated_at,
    )


@router.post("/webhooks", status_code=status.HTTP_201_CREATED)
async def create_webhook(
    body: WebhookCreate,
    request: Request,
    response: Response,
    user: CurrentUser,
    session: Session,
    origin: RequestOrigin,
) -> WebhookCreated:
    """Register an endpoint for the messages I get live (`events`: their types, or `*`).
    The `secret` that signs them (Standard Webhooks) is in this response only."""
    settings = _settings(request)
    webhook, secret = await service.create_webhook(
        session,
        actor=user,
        data=body,
        box=secret_box(settings),
        production=settings.environment == "production",
        allow_private=settings.webhook_allow_private,
        origin=origin,
    )
    response.headers["Location"] = resource_path(request, f"{router.prefix}/webhooks/{webhook.id}")
    read = _read(webhook)
    response.headers["ETag"] = tag_of(read)  # its GET's (without the secret)
    return WebhookCreated(**read.model_dump(), secret=secret)


@router.get("/webhooks")
async def list_webhooks(user: CurrentUser, session: Session) -> WebhookList:
    """My webhooks (without their secrets)."""
    return WebhookList(items=[_read(w) for w in await service.list_webhooks(session, actor=user)])


@router.get("/webhooks/{webhook_id}", response_model=WebhookRead, responses=NOT_MODIFIED)
async def get_webhook(
    webhook_id: WebhookId, user: CurrentUser, session: Session, if_none_match: IfNoneMatch = None
) -> Response:
    """One of my webhooks; `If-None-Match` with its ETag gives 304. The tag follows all it
    shows, the delivery worker's `enabled`/`disabled_*` too (they change no `updated_at`)."""
    webhook = await service.get_webhook(session, actor=user, webhook_id=webhook_id)
    return conditional_json(_read(webhook), if_none_match)


@router.patch("/webhooks/{webhook_id}", response_model=WebhookRead, responses=problems(412))
async def update_webhook(
    webhook_id: WebhookId,
    body: WebhookUpdate,
    request: Request,
    user: CurrentUser,
    session: Session,
    origin: RequestOrigin,
    if_match: ResourceIfMatch = None,
) -> Response:
    """Change it; `{"enabled": true}` re-enables one disabled after 24 hours of failure.
    `If-Match` with its ETag: a 412 if it changed since (the worker's disabling too)."""
    settings = _settings(request)
    webhook = await service.update_webhook(
        session,
        actor=user,
        webhook_id=webhook_id,
        data=body,
        production=settings.environment == "production",
        allow_private=settings.webhook_allow_private,
        origin=origin,
        unchanged=_unchanged(if_match),
    )
    return conditional_json(_read(webhook), None)  # with its ETag


@router.delete(
    "/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(412)
)
async def delete_webhook(
    webhook_id: WebhookId,
    user: CurrentUser,
    session: Session,
    origin: RequestOrigin,
    if_match: ResourceIfMatch = None,
) -> Response:
    await service.delete_webhook(
        session, actor=user, webhook_id=webhook_id, origin=origin, unchanged=_unchanged(if_match)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/webhooks/{webhook_id}/deliveries")
async def list_deliveries(
    webhook_id: WebhookId,
    user: CurrentUser,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> DeliveryList:
    """What was sent, newest first: attempts, status, the last answer and its latency, and
    when the next retry is due."""
    rows, next_cursor = await service.list_deliveries(
        session, actor=user, webhook_id=webhook_id, limit=limit, cursor=cursor
    )
    return DeliveryList(
        items=[DeliveryRead.model_validate(row, from_attributes=True) for row in rows],
        next_cursor=next_cursor,
    )
