"""Request and response bodies of the authentication endpoints (SPEC §3)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from neo_events.events.schemas import TimeZoneName
from neo_events.fields import NO_NUL

Username = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
    ),
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256), NO_NUL]


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    email: str
    created_at: datetime


class UserPublic(BaseModel):
    """What one user may learn about another: no email address."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    created_at: datetime


class UserList(BaseModel):
    items: list[UserPublic]


class RegisterRequest(BaseModel):
    username: Username
    email: Annotated[EmailStr, Field(max_length=254)]
    password: Password


class LoginRequest(BaseModel):
    username: Annotated[
        str,
        StringConstraints(min_length=1, max_length=254),
        NO_NUL,
        Field(description="username or email"),
    ]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256), NO_NUL]


class RefreshRequest(BaseModel):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=2048), NO_NUL]


class LogoutRequest(BaseModel):
    refresh_token: Annotated[str, StringConstraints(max_length=2048), NO_NUL] | None = None


class TokenResponse(BaseModel):
    user: UserRead
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="access token lifetime in seconds")


class AccountSettings(BaseModel):
    timezone: Annotated[
        str | None,
        Field(
            description="IANA zone where your all-day events from calendar apps and imports "
            "fall when they name none; null: not set (UTC)"
        ),
    ]


class AccountSettingsPatch(BaseModel):
    """The settings to change; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    timezone: TimeZoneName | None = None
