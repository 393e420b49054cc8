"""History bodies (SPEC §6): version summaries, snapshots, changelog entries, diffs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from neo_events.events.schemas import EventContentRead, UserRef

ChangeType = Literal[
    "created", "updated", "occurrence_updated", "occurrence_cancelled", "rolled_back", "deleted"
]
SharingChangeType = Literal[
    "shared", "permission_changed", "unshared", "invited", "responded", "uninvited"
]


class VersionSummary(BaseModel):
    version: int
    changed_by: UserRef | None
    changed_at: datetime
    change_type: ChangeType
    rolled_back_to: int | None = None
    summary: str


class VersionList(BaseModel):
    items: list[VersionSummary]
    next_cursor: str | None


class VersionRead(EventContentRead):
    """The full content of an event as one version left it, as the event object shows
    content (SPEC §6), and who made that version, when and how."""

    event_id: int
    version: int
    changed_by: UserRef | None
    changed_at: datetime
    change_type: ChangeType
    rolled_back_to: int | None = None


class FieldChange(BaseModel):
    field: str
    old: Any
    new: Any
    diff: list[dict[str, str]] | None = Field(
        default=None, description="word-level diff of a text field: [{op, text}]"
    )


class ChangelogEntry(BaseModel):
    """One content version or one sharing change, in the order they happened."""

    version: int | None = Field(description="the version written; for sharing, the version then")
    changed_by: UserRef | None
    changed_at: datetime
    change_type: ChangeType | SharingChangeType
    summary: str
    changes: list[FieldChange]
    rolled_back_to: int | None = None
    user: UserRef | None = Field(default=None, description="whose role a sharing change concerns")


class Changelog(BaseModel):
    items: list[ChangelogEntry]
    next_cursor: str | None


class Diff(BaseModel):
    event_id: int
    from_version: int
    to_version: int
    changes: list[FieldChange]
