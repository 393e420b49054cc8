"""feed numbered at commit: the change feed's numbers are handed out inside COMMIT

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 03:10:00+00:00

Every writing transaction numbers its changes under the row lock of `feed_state`, which
orders commits (a change numbered n is never visible before every change below n is). That
lock used to be taken by the transaction's last statement and held until the client's
COMMIT arrived: under load, a turn of a busy event loop per writer, and every writer in the
service waited for it (create/update throughput was bounded by it, not by CPU).

On PostgreSQL a transaction now inserts its changes as one `feed_pending` row, and a
deferred constraint trigger numbers them at COMMIT: it takes the lock, inserts `changes`
and `change_recipients` and deletes the pending row, so the lock is held only while the
server commits. SQLite (one writer at a time) keeps numbering in the application; the table
exists there but stays empty.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# `c`: the changes in order, as `changes` rows without their seq; `r`: [change's 1-based
# order, user id] pairs. Foreign keys are checked as each insert ends.
FEED_NUMBER = """
CREATE FUNCTION feed_number() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n integer := jsonb_array_length(NEW.payload -> 'c');
    last bigint;
BEGIN
    UPDATE feed_state SET last_seq = last_seq + n WHERE id = 1 RETURNING last_seq INTO last;
    IF last IS NULL THEN
        RAISE EXCEPTION 'feed_state has no row: run the migrations';
    END IF;
    INSERT INTO changes (seq, at, type, event_id, version, actor_id, changes)
    SELECT last - n + v.ord, c.at, c.type, c.event_id, c.version, c.actor_id, c.changes
    FROM jsonb_array_elements(NEW.payload -> 'c') WITH ORDINALITY AS v(item, ord),
         jsonb_to_record(v.item) AS c(
             at timestamptz, type text, event_id bigint, version integer, actor_id bigint,
             changes jsonb
         );
    INSERT INTO change_recipients (user_id, seq)
    SELECT r.u, last - n + r.o
    FROM jsonb_to_recordset(NEW.payload -> 'r') AS r(o integer, u bigint);
    DELETE FROM feed_pending WHERE id = NEW.id;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "feed_pending",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_pending")),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FEED_NUMBER)
    op.execute(
        "CREATE CONSTRAINT TRIGGER feed_number AFTER INSERT ON feed_pending "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION feed_number()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER feed_number ON feed_pending")
        op.execute("DROP FUNCTION feed_number()")
    op.drop_table("feed_pending")
