"""iCalendar bodies (SPEC §10): feed tokens and the import report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from neo_events.events.schemas import EventRead
from neo_events.fields import NO_CONTROLS, NO_NUL

TokenName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NO_NUL, NO_CONTROLS
]


class FeedTokenCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: TokenName | None = Field(
        default=None, description='a label to tell tokens apart ("Phone", "Google Calendar")'
    )


class FeedTokenRead(BaseModel):
    """A feed token as listed: never its secret."""

    id: int
    name: str | None
    created_at: datetime


class FeedTokenCreated(FeedTokenRead):
    """Shown once: the secret and the feed URL it opens."""

    token: str
    url: str = Field(description="the subscription URL to paste into a calendar app")


class FeedTokenList(BaseModel):
    items: list[FeedTokenRead]


class ImportedEvent(EventRead):
    """A created event, with the UID of the VEVENT it came from."""

    ical_uid: str


class ImportSkipped(BaseModel):
    """A component that was not imported, and why."""

    uid: str | None
    component: str = Field(description="VEVENT, VTODO, VJOURNAL, …")
    line: int = Field(description="the line of the file the component starts on")
    reason: str


class ImportWarning(BaseModel):
    """Something read with a guess or a repair (a zone mapped, an RDATE split off, …)."""

    uid: str | None
    line: int | None
    message: str


class ImportResult(BaseModel):
    items: list[ImportedEvent]
    skipped: list[ImportSkipped]
    warnings: list[ImportWarning]
