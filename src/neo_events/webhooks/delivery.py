"""The worker side of webhooks: send each webhook's messages in `seq` order, one at a time,
retrying the oldest until it goes through (`fanout.py` writes them).

One job per webhook (`webhook:{id}`) is claimed by one worker at a time. It sends
the webhook's oldest pending delivery; on success the next (read PAGE at a time), up to
SEND_PER_CLAIM per claim and for `webhook_timeout_s` (no send starts later, so a claim holds
its slot less than twice that), then releases the job for the next claim; on failure it
sleeps until the retry time (exponential backoff), and the messages behind wait — the order
is kept. Claims come in their users' turns, at most `webhook_concurrency_per_user` of one
user's webhooks at once (`jobs/turns.py`): a user whose receivers answer slowly (but in time,
so never backing off) holds that many slots, not all of them, and gives each one up within
twice the time-out.
A webhook with nothing waiting whose next message is a `reminder.due` (SPEC §14: within 5 s of
the due time) is claimed in a lane of its own (`DELIVER_DUE`, `webhook_due_concurrency` a
process, one of a user's at a time), which sends its leading `reminder.due` messages only: the
job then goes back to the ordinary lane, and so does one whose attempt failed. Slow or hanging
receivers of other users therefore hold the ordinary slots, not these: a hanging one holds a
due slot for one attempt, then retries in the ordinary lane.
After `webhook_retry_for_s` (24 h) of failure the webhook is disabled with its reason. A send
is at least once: a worker that dies after the receiver got the message but before recording
it is retried when its lease ends (same `webhook-id`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import ssl
import time
from dataclasses import dataclass
from datetime import timedelta

import httpx
import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from neo_events import db
from neo_events.jobs import queue
from neo_events.live.feed import REMINDER_DUE
from neo_events.live.hub import message_body
from neo_events.models import Change, User, Webhook, WebhookDelivery
from neo_events.settings import Settings
from neo_events.webhooks import ssrf
from neo_events.webhooks.service import DELIVER
from neo_events.webhooks.signing import SecretBox, UnreadableSecret, headers

logger = logging.getLogger(__name__)

SEND_PER_CLAIM = 200
PAGE = 25  # pending deliveries read at once
USER_AGENT = "neo-events-webhooks/1"


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int | None
    error: str | None
    latency_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


# A webhook whose secret no configured key opens (SECRET_KEY changed without
# SECRET_KEY_PREVIOUS): nothing can be signed, so each attempt fails as a receiver's would,
# said in its deliveries, and past WEBHOOK_RETRY_FOR_S the webhook is disabled with it (the
# job's own retries had tried it for ever, a traceback a minute, and the owner saw nothing).
UNREADABLE = Outcome(None, "its secret cannot be read with the configured keys", 0)


@functools.cache
def _verifying() -> ssl.SSLContext:
    """The TLS context every delivery verifies receivers with (httpx's default, certifi's CA
    bundle), made once per process: loading the bundle costs ~17 ms of CPU, paid at every start
    of a job runner (each test's app starts one)."""
    return httpx.create_ssl_context(trust_env=False)


class Webhooks:
    """Sending, for one worker process."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        box: SecretBox,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._box = box
        # Never follows redirects (a 3xx is a failed attempt); ignores proxy variables, which
        # would connect somewhere other than the address checked.
        self._client = httpx.AsyncClient(
            verify=_verifying(),
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(
                max_connections=(settings.webhook_concurrency + settings.webhook_due_concurrency)
                * 2
            ),
        )
        self._lease = timedelta(seconds=settings.jobs_lease_s)
        self.stopping = False
        # httpx logs every request at INFO: one line per delivery is the deliveries table's job.
        logging.getLogger("httpx").setLevel(logging.WARNING)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send_all(self, jobs: list[queue.Claimed]) -> None:
        for job in jobs:
            await self._send_in_order(job, claimed_at=time.monotonic())

    async def send_due(self, jobs: list[queue.Claimed]) -> None:
        """The due lane's: the webhook's leading `reminder.due` messages, then the rest goes
        back to the ordinary lane."""
        for job in jobs:
            await self._send_in_order(job, claimed_at=time.monotonic(), due_only=True)

    async def _send_in_order(
        self, job: queue.Claimed, *, claimed_at: float, due_only: bool = False
    ) -> None:
        webhook_id = int(job.payload["webhook_id"])
        sent = 0
        for _ in range(-(-SEND_PER_CLAIM // PAGE)):  # bounded: each round reads one page
            async with self._sessionmaker() as session:
                page = await self._page(session, job, webhook_id)
                await session.commit()
            if page is None:
                return
            url, secret, items = page
            for delivery_id, type_, body in items[: SEND_PER_CLAIM - sent]:
                # Stopping (`worker.running`), this claim's time used up (one went through),
                # or not lease enough for one more attempt?
                held = time.monotonic() - claimed_at
                limit = self._settings.webhook_timeout_s
                if (
                    self.stopping
                    or (due_only and type_ != REMINDER_DUE)
                    or (sent and held >= limit)
                    or self._lease.total_seconds() - held < limit + 5
                ):
                    await self._release(job)
                    return
                outcome = (
                    UNREADABLE
                    if secret is None
                    else await self.post(url, secret, f"msg_{delivery_id}", body)
                )
                async with self._sessionmaker() as session:
                    if not await self._record(session, job, webhook_id, delivery_id, outcome):
                        return
                sent += 1
        # This claim's share is sent: release the job so it is claimed again at once (by any
        # worker), instead of waiting for the lease to run out.
        await self._release(job)

    async def _release(self, job: queue.Claimed) -> None:
        """Due again at once, in the ordinary lane."""
        async with self._sessionmaker() as session:
            await queue.reschedule(
                session, job, due_at=db.utcnow(), keep_attempts=True, kind=DELIVER
            )
            await session.commit()

    async def _page(
        self, session: AsyncSession, job: queue.Claimed, webhook_id: int
    ) -> tuple[str, str | None, list[tuple[int, str, bytes]]] | None:
        """The webhook's URL, secret (None: no configured key opens it) and its oldest pending
        deliveries (up to PAGE) with their types and bodies; None (job finished) when the webhook is
        gone, disabled, or has nothing left."""
        webhook = await session.get(Webhook, webhook_id)
        if webhook is None or webhook.disabled_at is not None:
            await queue.finish(session, job)
            return None
        pending = await self._pending(session, webhook_id)
        if not pending:
            # Nothing left: finish, unless the fan-out adds one meanwhile (it takes this lock
            # before it makes sure the job exists).
            await session.execute(
                select(Webhook.id).where(Webhook.id == webhook_id).with_for_update()
            )
            pending = await self._pending(session, webhook_id)
            if not pending:
                await queue.finish(session, job)
                return None
        rows = await session.execute(
            select(Change, User.username)
            .outerjoin(User, User.id == Change.actor_id)
            .where(Change.seq.in_([d.seq for d in pending]))
        )
        bodies = {change.seq: orjson.dumps(message_body(change, name)) for change, name in rows}
        items = []
        for delivery in pending:
            body = bodies.get(delivery.seq)
            if body is None:  # its change is gone (the event was purged)
                delivery.status = "failed"
                delivery.error = "the message no longer exists"
                continue
            items.append((delivery.id, delivery.type, body))
        try:
            secret: str | None = self._box.open(webhook.secret_encrypted)
        except UnreadableSecret:
            logger.warning("webhook %d: no configured key opens its secret", webhook_id)
            secret = None
        return webhook.url, secret, items

    @staticmethod
    async def _pending(session: AsyncSession, webhook_id: int) -> list[WebhookDelivery]:
        rows = await session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status == "pending")
            .order_by(WebhookDelivery.seq)
            .limit(PAGE)
        )
        return list(rows)

    async def _record(
        self,
        session: AsyncSession,
        job: queue.Claimed,
        webhook_id: int,
        delivery_id: int,
        outcome: Outcome,
    ) -> bool:
        """Write the attempt down (if the job is still ours); True to send the next one."""
        if job.id not in await queue.held(session, [job]):
            return False  # our lease ended and another worker took over: it records
        now = db.utcnow()
        delivery = await session.get(WebhookDelivery, delivery_id)
        if delivery is None:  # the webhook was deleted meanwhile
            await session.commit()
            return False
        delivery.attempts += 1
        delivery.first_attempt_at = delivery.first_attempt_at or now
        delivery.last_attempt_at = now
        delivery.response_status = outcome.status
        delivery.latency_ms = outcome.latency_ms
        delivery.error = outcome.error
        if outcome.ok:
            delivery.status = "delivered"
            delivery.delivered_at = now
            delivery.next_attempt_at = None
            await session.commit()
            return True
        if now - delivery.first_attempt_at >= timedelta(seconds=self._settings.webhook_retry_for_s):
            delivery.status = "failed"
            delivery.next_attempt_at = None
            webhook = await session.get(Webhook, webhook_id)
            if webhook is not None:
                webhook.disabled_at = now
                reason = f"failing for {_hours(self._settings.webhook_retry_for_s)}: "
                webhook.disabled_reason = (reason + (outcome.error or ""))[:200]
            await queue.finish(session, job)
        else:
            retry_at = now + self.backoff(delivery.attempts)
            delivery.next_attempt_at = retry_at
            await queue.reschedule(  # a failing receiver retries in the ordinary lane
                session, job, due_at=retry_at, error=outcome.error, keep_attempts=True, kind=DELIVER
            )
        await session.commit()
        return False

    def backoff(self, attempts: int) -> timedelta:
        """base × 2^(attempts-1), at most max, with ±10 % jitter."""
        base, cap = self._settings.webhook_backoff_base_s, self._settings.webhook_backoff_max_s
        seconds = min(cap, base * 2 ** min(attempts - 1, 40))
        return timedelta(seconds=seconds * random.uniform(0.9, 1.1))

    async def post(self, url: str, secret: str, message_id: str, body: bytes) -> Outcome:
        """One signed POST to the address checked just now; any answer but 2xx, a time-out,
        a refused destination or a redirect is a failure."""
        started = time.monotonic()
        try:
            target = await ssrf.resolve(
                url,
                require_https=self._settings.environment == "production",
                allow_private=self._settings.webhook_allow_private,
            )
        except ssrf.Refused as exc:
            # The owner sees why in general terms; what it resolved to is the operator's.
            logger.info("webhook message %s refused: %s", message_id, exc.detail)
            return Outcome(None, f"refused: {exc}", 0)
        sent = headers(secret, message_id, int(time.time()), body)
        sent.update({"host": target.host_header, "user-agent": USER_AGENT})
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        limit = self._settings.webhook_timeout_s
        try:
            # one deadline for the attempt: httpx's is each read's (a dribbling receiver)
            async with (
                asyncio.timeout(limit),
                self._client.stream(
                    "POST",
                    target.connect_url,
                    content=body,
                    headers=sent,
                    timeout=limit,
                    extensions=extensions,
                ) as response,
            ):
                status = response.status_code
        except (httpx.TimeoutException, TimeoutError):
            return Outcome(None, f"timed out after {limit:g} s", _ms(started))
        except httpx.HTTPError as exc:
            return Outcome(None, f"{type(exc).__name__}: {exc}"[:500], _ms(started))
        error = None if 200 <= status < 300 else f"HTTP {status}"
        return Outcome(status, error, _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} hours" if seconds >= 3600 else f"{seconds:g} s"
