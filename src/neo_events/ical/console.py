"""`neo-events import FILE.ics --user NAME`: the API's import, in one transaction, from a shell."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from neo_events import db, db_sqlite
from neo_events.audit.service import Origin
from neo_events.auth.service import find_users
from neo_events.errors import AppError
from neo_events.ical.importing import ImportReport, import_calendar
from neo_events.settings import Settings

BAR_WIDTH = 30


def progress_bar(stream: TextIO) -> Callable[[int, int], None]:
    """A one-line bar on `stream`, redrawn when the percentage changes."""
    shown = -1

    def show(done: int, total: int) -> None:
        nonlocal shown
        percent = 100 * done // total
        if percent == shown:
            return
        shown = percent
        filled = BAR_WIDTH * done // total
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        stream.write(f"\rimporting [{bar}] {done}/{total} events")
        if done == total:
            stream.write("\n")
        stream.flush()

    return show


def _summary(report: ImportReport, username: str) -> str:
    lines = [
        f"imported {len(report.created)} events for {username} "
        f"({len(report.skipped)} skipped, {len(report.notes)} warnings)"
    ]
    lines += [
        f"  skipped line {s.line} {s.component} {s.uid or ''}: {s.reason}" for s in report.skipped
    ]
    lines += [f"  warning{f' line {n.line}' if n.line else ''}: {n.message}" for n in report.notes]
    return "\n".join(lines)


async def run_import(
    settings: Settings, data: bytes, *, username: str, timezone: str | None
) -> int:
    """Import for the user named (username or email), floating times in `timezone`, else in
    the user's own zone; 0 on success, 1 if the file is refused, 2 for an unknown user."""
    engine = db.create_engine(settings)
    try:
        with db_sqlite.intending(True):  # SQLite: take the write lock up front
            async with db.create_sessionmaker(engine)() as session:
                users = await find_users(session, username)
                if not users:
                    print(f"neo-events: no user {username!r}", file=sys.stderr)
                    return 2
                try:
                    report = await import_calendar(
                        session,
                        actor=users[0],
                        data=data,
                        origin=Origin(user_agent="neo-events import"),
                        default_timezone=timezone,
                        progress=progress_bar(sys.stderr),
                    )
                except AppError as exc:
                    await db.rollback(session)
                    print(f"neo-events: {exc.detail}", file=sys.stderr)
                    for error in exc.errors or []:
                        print(
                            f"  {' '.join(map(str, error['loc']))}: {error['msg']}", file=sys.stderr
                        )
                    return 1
                await db.commit(session)
                print(_summary(report, users[0].username))
                return 0
    finally:
        await engine.dispose()
