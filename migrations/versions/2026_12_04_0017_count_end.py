"""count end: each event with a COUNT rule stores where the rule ends

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 22:30:00+00:00

A COUNT rule's plan needs its last occurrence, which a read found by scanning the rule from
its start (`events.plans._count_bound`): up to ~100 ms for a sparse rule such as
`FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;COUNT=5`, and a worker whose plan cache was cold
(a restart, a new worker, an eviction) paid it for every such series a read touched (an
outside attack: 200 of them, 10 s for one listing). `events.count_end` holds it, written with
the event (`plans.count_end_text`); a read tells the plans before it expands.

Existing rows are filled here with the application's own rule engine, 500 at a time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHUNK = 500


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("count_end", sa.String(32), nullable=True))
    # The rule engine and column types are the application's: what it works out here is
    # what it reads back.
    from neo_events.events.content import count_end_of, series_of
    from neo_events.models import Event

    bind = op.get_bind()
    table = Event.__table__
    columns = ("all_day", "start_date", "end_date", "start_time", "end_time", "timezone")
    rows = bind.execute(
        sa.select(table.c.id, table.c.recurrence_pattern, *(table.c[c] for c in columns))
        .where(table.c.is_recurring, table.c.recurrence_pattern.like("%COUNT=%"))
        .order_by(table.c.id)
    ).all()
    updates = []
    for row in rows:
        content = dict(row._mapping) | {"is_recurring": True, "exdates": (), "overrides": ()}
        end = count_end_of(series_of(content))
        if end is not None:
            updates.append({"event_id": row.id, "end": end})
    update = (
        sa.table("events", sa.column("id"), sa.column("count_end"))
        .update()
        .where(sa.column("id") == sa.bindparam("event_id"))
        .values(count_end=sa.bindparam("end"))
    )
    for first in range(0, len(updates), _CHUNK):
        bind.execute(update, updates[first : first + _CHUNK])


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("count_end")
