"""Reminder requests and responses (SPEC §14)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MAX_MINUTES_BEFORE = 40_320  # four weeks
MAX_REMINDERS = 5


class ReminderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minutes_before: int = Field(ge=0, le=MAX_MINUTES_BEFORE)


class ReminderRead(BaseModel):
    minutes_before: int


class RemindersPut(BaseModel):
    """The caller's whole set of reminders on an event (replacing what was there)."""

    model_config = ConfigDict(extra="forbid")

    reminders: list[ReminderIn] = Field(max_length=MAX_REMINDERS)


class RemindersRead(BaseModel):
    event_id: int
    reminders: list[ReminderRead]
