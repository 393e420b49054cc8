"""An account's own settings (`GET`/`PATCH /api/v1/auth/me/settings`): its time zone.

The zone is where the account's floating dates fall when what it writes names none: an
all-day event a calendar app PUTs over CalDAV (a `VALUE=DATE` names no zone, RFC 5545), the
floating times and all-day dates of an import without X-WR-TIMEZONE or `?timezone=`, and
what CalDAV tells clients in `CALDAV:calendar-timezone` (RFC 4791 §5.2.2). Until it is set
(the web client sets the browser's on first sign-in) that is UTC, as it was before there was
a setting. An event keeps the zone it was written with: changing the setting moves none. And
the account's reminders on all-day events fire before its own midnights (a shared holiday
reminds each holder the evening before where they are: `events/series_types.zoned`).

Not part of `user` (SPEC §3): `/users?q=` shows users to anyone who knows their address, and
where someone lives is not for them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from neo_events.audit.service import Origin, record
from neo_events.auth.schemas import AccountSettings, AccountSettingsPatch
from neo_events.models import User
from neo_events.reminders.service import follow_own_zone
from neo_events.timezones import DroppedZone

DEFAULT_ZONE = "UTC"


def own_zone(user: User) -> str:
    """Where the user's floating dates fall when a write names no zone."""
    return user.timezone or DEFAULT_ZONE


def settings_of(user: User) -> AccountSettings:
    return AccountSettings(timezone=user.timezone)


async def locked_settings(session: AsyncSession, user: User) -> AccountSettings:
    """The settings as they stand, the account's row locked until the request commits (an
    `If-Match` on them holds for the change that follows, and changes at once are made one
    after the other; SQLite's writes are one at a time)."""
    await session.refresh(user, ["timezone"], with_for_update=True)
    return settings_of(user)


async def change_settings(
    session: AsyncSession, user: User, patch: AccountSettingsPatch, origin: Origin
) -> AccountSettings:
    """The settings `patch` names set (and one audit row when anything changed)."""
    if "timezone" not in patch.model_fields_set:
        return settings_of(user)
    # Its row locked and read again: changes at once (two devices, a browser adopting its
    # zone) are made one after the other, each from the zone the one before left (on
    # PostgreSQL each took the zone its request began with for the one it replaced).
    await locked_settings(session, user)
    before = user.timezone
    # a zone the rules dropped reads as UTC (`timezones.DroppedZone`): UTC set is then a change
    dropped = isinstance(before, DroppedZone)
    if patch.timezone != before or dropped:
        user.timezone = patch.timezone  # the request's own row, written at its commit
        if dropped:
            flag_modified(user, "timezone")  # (equal to the UTC read in its place)
        record(
            session,
            action="settings.changed",
            origin=origin,
            actor_id=user.id,
            target_type="user",
            target_id=user.id,
            details={
                "timezone": {
                    "old": before.stored if isinstance(before, DroppedZone) else before,
                    "new": patch.timezone,
                }
            },
        )
        await session.flush()  # the zone its reminders are placed by is read back
        await follow_own_zone(session, user.id, before)  # its all-day reminders: its midnights
    return settings_of(user)
