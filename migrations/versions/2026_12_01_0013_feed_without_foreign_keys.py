"""feed without foreign keys: the change feed is a log derived from rows already checked

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 19:40:00+00:00

`changes` and `change_recipients` are written only by the feed's numbering (on PostgreSQL the
`feed_number()` trigger at COMMIT, migration 0011; on SQLite `live.feed`), from the event,
actor and holders that the same transaction has just written or read under its locks, which
their own tables' foreign keys have checked. Their foreign keys checked the same facts again,
one lookup per key and per recipient, each taking a `FOR KEY SHARE` lock on the users or
events row (a WAL record): an edit of an event held by seven people ran sixteen such checks
(two for the change, two for each recipient), and its WAL held eight row locks on `users`
rows. On PostgreSQL all of them ran inside the trigger, under the `feed_state` lock that
orders every writer's COMMIT. Nothing deletes users, events or
changes (events are tombstones), so the cascades never ran.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, constraint, column, referred table, referred column, on delete)
KEYS = (
    ("changes", "fk_changes_actor_id_users", "actor_id", "users", "id", "SET NULL"),
    ("changes", "fk_changes_event_id_events", "event_id", "events", "id", "CASCADE"),
    ("change_recipients", "fk_change_recipients_seq_changes", "seq", "changes", "seq", "CASCADE"),
    (
        "change_recipients",
        "fk_change_recipients_user_id_users",
        "user_id",
        "users",
        "id",
        "CASCADE",
    ),
)


def upgrade() -> None:
    for table in ("change_recipients", "changes"):
        with op.batch_alter_table(table) as batch:
            for owner, name, *_ in KEYS:
                if owner == table:
                    batch.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    for table in ("changes", "change_recipients"):
        with op.batch_alter_table(table) as batch:
            for owner, name, column, referred, remote, on_delete in KEYS:
                if owner == table:
                    batch.create_foreign_key(name, referred, [column], [remote], ondelete=on_delete)
