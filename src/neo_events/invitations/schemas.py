"""Invitation bodies (SPEC §13): invite, answer, my invitations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from neo_events.events.schemas import AttendeeRead, ClashRead, EventRead
from neo_events.fields import NO_CONTROLS, NO_NUL, DbId
from neo_events.invitations.responses import Response

Comment = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500), NO_NUL, NO_CONTROLS
]
MAX_INVITES = 100  # people one request invites


class Invitee(BaseModel):
    model_config = ConfigDict(extra="ignore")

    user_id: DbId
    optional: bool = False


class InviteRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    users: Annotated[list[Invitee], Field(min_length=1, max_length=MAX_INVITES)]


class AttendeeList(BaseModel):
    """Everyone invited, after the write; and, for an invitation, what the event overlaps
    in the calendars of the people it newly reaches."""

    items: list[AttendeeRead]
    conflicts: list[ClashRead] = []


class Rsvp(BaseModel):
    model_config = ConfigDict(extra="ignore")

    response: Response
    comment: Comment | None = None


class RsvpResult(BaseModel):
    """My answer as it now stands: for the series, or for one occurrence."""

    event_id: int
    user_id: int
    response: Response
    comment: str | None
    recurrence_id: datetime | date | None = None  # a date for an all-day series'


class InvitationList(BaseModel):
    """Events I am invited to (as event objects, `my_response` saying how I answered)."""

    items: list[EventRead]
    next_cursor: str | None
