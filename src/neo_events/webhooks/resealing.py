"""Webhook secrets sealed under a previous SECRET_KEY are sealed again under the current one.

While SECRET_KEY_PREVIOUS is set, every process that sends webhooks (`serve` with jobs,
`neo-events worker`) walks the webhooks once at start-up, a batch per transaction, and logs
what it did: once a process has logged `none left under SECRET_KEY_PREVIOUS`, the previous
key is no longer needed for webhooks (SECURITY.md, rotating SECRET_KEY). The write is
conditional on the ciphertext read, so processes doing it at once are safe: the first wins,
the others' updates match nothing, and whatever is written opens under the current key.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from neo_events.models import Webhook
from neo_events.webhooks.signing import SecretBox, UnreadableSecret

logger = logging.getLogger(__name__)

BATCH = 200


async def reseal_all(
    sessionmaker: async_sessionmaker[AsyncSession], box: SecretBox, *, batch: int = BATCH
) -> tuple[int, int]:
    """(re-sealed, unreadable): every webhook's secret sealed under the current key, if
    some configured key opens it. Bounded: one batch of rows per transaction, by id."""
    after, resealed, unreadable = 0, 0, 0
    while True:
        async with sessionmaker() as session:
            rows = (
                await session.execute(
                    select(Webhook.id, Webhook.secret_encrypted)
                    .where(Webhook.id > after)
                    .order_by(Webhook.id)
                    .limit(batch)
                )
            ).all()
            for webhook_id, sealed in rows:
                try:
                    fresh = box.reseal(sealed)
                except UnreadableSecret:
                    unreadable += 1
                    continue
                if fresh is not None:
                    await session.execute(
                        update(Webhook)
                        .where(Webhook.id == webhook_id, Webhook.secret_encrypted == sealed)
                        .values(secret_encrypted=fresh)
                    )
                    resealed += 1
            await session.commit()
        if len(rows) < batch:
            break
        after = rows[-1][0]
    logger.info(
        "webhook secrets: %d re-sealed under SECRET_KEY, %d opened by no configured key; "
        "none left under SECRET_KEY_PREVIOUS",
        resealed,
        unreadable,
    )
    return resealed, unreadable
