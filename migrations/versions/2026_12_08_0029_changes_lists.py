"""changes as lists: a change of who is on an event lists the people it names

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-08 02:00:00+00:00

Since 2026-12-08 a request's shares, role changes, invitations and answers are one change a
kind whose `changes` lists each person's details (`live/feed.announce_all`); a change of one
person (`feed.announce`) lists theirs alone. Changes written before held one person's
details as an object: they are wrapped in a list, so that every message a client replays
(SSE's `Last-Event-ID`, WebSocket's `since`) or a webhook still sends has the one shape
docs/api.md gives. Content changes (lists of field names) and `reminder.due` (its details,
spread into the message) are as they were. On PostgreSQL, changes still pending numbering
(`feed_pending`) are wrapped too.

Downgrade leaves the lists: the code before reads nothing of these changes' `changes`.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PEOPLE = (
    "'event.shared', 'event.unshared', 'permission.changed', "
    "'attendee.invited', 'attendee.responded', 'attendee.removed'"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE changes SET changes = jsonb_build_array(changes)"
            f" WHERE type IN ({PEOPLE}) AND jsonb_typeof(changes) = 'object'"
        )
        op.execute(
            f"""
            UPDATE feed_pending SET payload = jsonb_set(payload, '{{c}}', (
                SELECT jsonb_agg(
                    CASE WHEN c ->> 'type' IN ({PEOPLE})
                        AND jsonb_typeof(c -> 'changes') = 'object'
                    THEN jsonb_set(c, '{{changes}}', jsonb_build_array(c -> 'changes'))
                    ELSE c END
                    ORDER BY n)
                FROM jsonb_array_elements(payload -> 'c') WITH ORDINALITY AS e(c, n)))
            WHERE jsonb_typeof(payload -> 'c') = 'array'
                AND jsonb_array_length(payload -> 'c') > 0
            """
        )
    else:
        op.execute(
            "UPDATE changes SET changes = json_array(json(changes))"
            f" WHERE type IN ({PEOPLE}) AND json_type(changes) = 'object'"
        )


def downgrade() -> None:
    pass
