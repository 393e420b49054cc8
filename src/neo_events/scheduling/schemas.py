"""Find-a-time bodies (SPEC §7)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from neo_events.events.schemas import TimeZoneName
from neo_events.fields import DbId, QueryInstant
from neo_events.scheduling.service import MAX_USERS

WallTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")]


class WorkingHoursIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    start: WallTime = "09:00"
    end: WallTime = "17:00"
    days: Annotated[list[Annotated[int, Field(ge=1, le=7)]], Field(min_length=1, max_length=7)] = [
        1,
        2,
        3,
        4,
        5,
    ]

    @model_validator(mode="after")
    def _end_after_start(self) -> WorkingHoursIn:
        if self.start == "24:00" or (self.end != "24:00" and self.end <= self.start):
            raise ValueError("working hours must end after they start (24:00 is the day's end)")
        return self

    def wall_times(self) -> tuple[time, time]:
        start = time.fromisoformat(self.start)
        end = time(0) if self.end == "24:00" else time.fromisoformat(self.end)
        return start, end


class FindTime(BaseModel):
    model_config = ConfigDict(extra="ignore")

    user_ids: Annotated[list[DbId], Field(min_length=1, max_length=MAX_USERS)]
    duration_minutes: Annotated[int, Field(ge=5, le=1440)]
    start_time: QueryInstant
    end_time: QueryInstant
    timezone: TimeZoneName = "UTC"
    working_hours: WorkingHoursIn | None = None
    granularity_minutes: Annotated[int, Field(ge=5, le=240)] = 15
    limit: Annotated[int, Field(ge=1, le=50)] = 10

    @field_validator("user_ids")
    @classmethod
    def _distinct(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("lists a user twice")
        return value


class Slot(BaseModel):
    start_time: datetime
    end_time: datetime


class Slots(BaseModel):
    slots: list[Slot]
