"""feed numbered after commit: writers no longer queue on the feed's counter

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 11:30:00+00:00

Since migration 0011 every writing transaction numbered its changes inside COMMIT, under the
row lock of `feed_state`, held through the commit's WAL flush: writers committed one flush at
a time (a disk whose flush takes 2 ms held the whole service to about 500 writes a second,
whatever its cores), and under load they queued there (2-3 backends waiting on that lock at
any moment of an update load; 0.15-0.4 ms of PostgreSQL's CPU a write, BENCHMARKS.md).

On PostgreSQL a writer now only inserts its `feed_pending` row and commits, with every other
writer at once (group commit). `feed_number_pending()`, run by each worker once its writers
have committed (`live.sequencer`), takes the lock, numbers every pending row committed by
then in one statement and deletes them. Numbers stay gap-free and appear in order: a run
numbers only rows already committed, and runs are serialised by the lock, so a change
numbered n is never visible before every change below n is.

A run finds the rows committed since the last one without reading the rows taken before
(which, until a vacuum, stay in the table and its indexes as dead entries): each row keeps
its transaction's id (`txid`, indexed), and `feed_state.horizon` keeps the oldest
transaction still running at the last run (`pg_snapshot_xmin`). Every transaction older than
that had ended by then, so its rows were taken; the next run reads from there on.

SQLite (one writer at a time) keeps numbering in the application; the columns exist there
but are not used.

Both ways the table is locked against writers first (they wait for the migration's commit),
so that no row is inserted between the trigger's going and the function's coming, or back.
Processes of the release before go on inserting rows during a rolling upgrade; the first
process of this release numbers them as it starts and every `LIVE_POLL_S` after (their
clients have their answers before then, as they did not when the trigger numbered them).
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# `enable_seqscan = off`: the rows are found by the index on `txid`, whatever the statistics
# say (a queue's are seldom right: with no ANALYZE, a range is guessed at a third of the
# table, and a scan of the table would read every dead row an earlier run left).
# `jit = off`: that guess, times a hundred elements for each JSON array, puts the numbering
# statement's generic plan past `jit_above_cost`, and every run compiled it: 190 ms of
# PostgreSQL's CPU to number the ~20 rows a run finds in 0.2 ms (a create load on a 100k
# dataset spent most of PostgreSQL's CPU there, BENCHMARKS.md).
# `c`: a pending row's changes in order, as `changes` rows without their seq; `r`: [change's
# 1-based order, user id] pairs. The rows are numbered in the order of their ids, then of
# their changes: a writer that commits after another inserted its row after it (an edit of
# the same event waits for the other's row lock), so it is numbered after it too.
FEED_NUMBER_PENDING = """
CREATE FUNCTION feed_number_pending() RETURNS integer LANGUAGE plpgsql
SET enable_seqscan = off SET jit = off AS $$
DECLARE
    last bigint;
    since bigint;
    upto bigint;
    n integer;
BEGIN
    IF NOT EXISTS (
        SELECT FROM feed_pending WHERE txid >= (SELECT horizon FROM feed_state WHERE id = 1)
    ) THEN
        RETURN 0;  -- nothing committed since the last run: no lock, no write
    END IF;
    SELECT last_seq, horizon INTO last, since FROM feed_state WHERE id = 1 FOR UPDATE;
    IF last IS NULL THEN
        RAISE EXCEPTION 'feed_state has no row: run the migrations';
    END IF;
    -- A statement of its own: its snapshot, taken under the lock, sees every row committed
    -- before any other run that follows this one takes the lock.
    WITH taken AS (
        DELETE FROM feed_pending WHERE txid >= since RETURNING id, payload
    ), item AS (
        SELECT t.id, v.ord, v.item, last + row_number() OVER (ORDER BY t.id, v.ord) AS seq
        FROM taken AS t,
             jsonb_array_elements(t.payload -> 'c') WITH ORDINALITY AS v(item, ord)
    ), written AS (
        INSERT INTO changes (seq, at, type, event_id, version, actor_id, changes)
        SELECT i.seq, c.at, c.type, c.event_id, c.version, c.actor_id, c.changes
        FROM item AS i,
             jsonb_to_record(i.item) AS c(
                 at timestamptz, type text, event_id bigint, version integer,
                 actor_id bigint, changes jsonb
             )
    ), told AS (
        INSERT INTO change_recipients (user_id, seq)
        SELECT r.u, i.seq
        FROM taken AS t
        CROSS JOIN LATERAL jsonb_to_recordset(t.payload -> 'r') AS r(o integer, u bigint)
        JOIN item AS i ON i.id = t.id AND i.ord = r.o
    )
    SELECT count(*), pg_snapshot_xmin(pg_current_snapshot())::text::bigint
    INTO n, upto FROM item;
    UPDATE feed_state SET last_seq = last + n, horizon = upto WHERE id = 1;
    RETURN n;
END
$$
"""


def _as_0011_left_it() -> str:
    """The trigger function migration 0011 created, from that migration's own text: what
    the downgrade restores, not a copy of it."""
    path = Path(__file__).with_name("2026_12_01_0011_feed_numbered_at_commit.py")
    spec = importlib.util.spec_from_file_location("neo_events_migration_0011", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.FEED_NUMBER)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("LOCK TABLE feed_pending IN SHARE ROW EXCLUSIVE MODE")
        op.execute("DROP TRIGGER feed_number ON feed_pending")
        op.execute("DROP FUNCTION feed_number()")
    # A transaction's id as a number (xid8 has no SQLAlchemy type; its text is the number).
    txid = sa.text("(pg_current_xact_id()::text::bigint)") if postgresql else sa.text("0")
    with op.batch_alter_table("feed_pending") as table:
        table.add_column(sa.Column("txid", sa.BigInteger(), nullable=False, server_default=txid))
        table.create_index("ix_feed_pending_txid", ["txid"])
    with op.batch_alter_table("feed_state") as table:
        table.add_column(
            sa.Column("horizon", sa.BigInteger(), nullable=False, server_default=sa.text("0"))
        )
    if postgresql:
        op.execute(FEED_NUMBER_PENDING)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("LOCK TABLE feed_pending IN SHARE ROW EXCLUSIVE MODE")
        op.execute("SELECT feed_number_pending()")  # nothing left unnumbered
        op.execute("DROP FUNCTION feed_number_pending()")
    with op.batch_alter_table("feed_state") as table:
        table.drop_column("horizon")
    with op.batch_alter_table("feed_pending") as table:
        table.drop_index("ix_feed_pending_txid")
        table.drop_column("txid")
    if postgresql:
        op.execute(_as_0011_left_it())
        op.execute(
            "CREATE CONSTRAINT TRIGGER feed_number AFTER INSERT ON feed_pending "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION feed_number()"
        )
