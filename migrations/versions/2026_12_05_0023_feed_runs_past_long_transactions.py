"""feed runs past long transactions and bad rows: a run looks only at what began since the
last one, and sets aside a row it cannot number

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 22:00:00+00:00

A run of `feed_number_pending()` (migration 0022) looked for pending rows from
`feed_state.horizon` on: the oldest transaction still running at the last run. One
transaction that had taken an id and stayed open (a psql session left in a transaction, a
stuck client) held that horizon where it was, and every run searched every pending row
written since, long taken: as the rows a run deletes cannot be cleaned away while that
transaction runs, each of them cost every later run a visit. Twenty seconds of an update
load behind one such transaction made a run that found nothing take 12.8 ms (it is to be
seen in seconds after an hour), and the load's own ratio fell from 23% to 16% (2026-12-05,
BENCHMARKS.md): every write waits for a run.

A run now keeps its snapshot (`feed_state.snapshot`, `pg_snapshot` as text) and the next one
looks at the transactions that snapshot saw running (`pg_snapshot_xip`, at most one a
connection: each found by the index on `txid`) and at those that began after it
(`pg_snapshot_xmax` on). Nothing else can hold a row the last run did not take: a
transaction that had ended by then had its rows taken by it. So a run reads what was
written since the last one, and one index probe for each transaction then running, however
long any of them has been open. The run's own transaction is kept among those running (a
snapshot leaves its own out), and a kept snapshot from past the cluster's transaction ids (a
database restored from a dump into another cluster) is ignored: that run looks at every
row. `horizon` is kept up to date for the downgrade, and read only if `snapshot` is not yet
set (the first run after this migration). The downgrade refuses while `feed_rejected` holds
rows.

A run numbers everything it finds in one statement, so one pending row it could not number
(a recipient named twice, a value its column refuses: no writer of this release hands such a
row over, but a bug or a hand could) failed every run: the whole feed stopped, for every
user, and every write's answer waited for two failed runs (0.2 s) until someone deleted the
row. Now, when that statement fails on the data (an integrity or data error: classes 23 and
22), the process runs `feed_number_pending_apart()` (`live.sequencer`): the same rows one at
a time, in the same order, and a row that fails again is moved to `feed_rejected` with its
error and logged by PostgreSQL as a warning (but for a number `changes` or
`change_recipients` already holds, unless the row names a recipient twice: the counter is
then behind the feed, no row's fault, and the run fails as before). Its changes
are in nobody's feed; everything before and after it is numbered as ever, with no gap. Any
other error (the database short of something, a lock timeout) still fails the run and
leaves every row pending for the next.
The usual run keeps no subtransaction for this (0.06-0.09 ms more a run, measured).

SQLite (the feed numbered in the application) gets the column and the table, unused.
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Both functions: `plan_cache_mode = force_generic_plan` plans each statement once a
# connection. PostgreSQL plans a statement with parameters afresh at every call while its
# generic plan is guessed to cost more than the custom ones (here always: a range of `txid`
# is guessed at a third of the queue), and that planning was most of a run: 0.48 ms of
# PostgreSQL's CPU to number one row, 0.26 ms with the plan kept (pgbench, one row inserted
# and numbered a transaction). `enable_seqscan` and `jit`: as migration 0022 says.
_HEAD = """
CREATE OR REPLACE FUNCTION {name}() RETURNS integer LANGUAGE plpgsql
SET enable_seqscan = off SET jit = off SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    last bigint;
    since bigint;
    running bigint[];
    seen pg_snapshot;
    n integer := 0;
    k integer;
    one record;
    refused text;
BEGIN"""
# Where a run looks: `since` (the transactions begun after the last run's snapshot) and
# `running` (those it saw running), each searched by the index on `txid`.
_WHERE = """
    coalesce(pg_snapshot_xmax(s.snapshot::pg_snapshot)::text::bigint, s.horizon),
    ARRAY(SELECT x::text::bigint FROM pg_snapshot_xip(s.snapshot::pg_snapshot) AS x)"""
# The pending rows a run takes: both functions take the same ones.
_PENDING = "txid >= since OR txid = ANY (running)"
# A kept snapshot from past this cluster's transaction ids (the database restored into
# another cluster from a dump) would hide every new row: then a run looks at every row.
_RESTORED = """
    IF since > pg_snapshot_xmax(pg_current_snapshot())::text::bigint THEN
        since := 0;
        running := '{}';
    END IF;"""
_LOCKED = f"""
    SELECT s.last_seq, {_WHERE}
    INTO last, since, running FROM feed_state AS s WHERE s.id = 1 FOR UPDATE;
    IF last IS NULL THEN
        RAISE EXCEPTION 'feed_state has no row: run the migrations';
    END IF;{_RESTORED}"""
# The rows `taken` (id, payload), numbered from `base` on in the order of their ids, then of
# their changes (a row's `c`), into `changes`, and their recipients (`r`: the 1-based order of
# a change in its row, a user) into `change_recipients`; `tail` takes the count (`item`).
_NUMBERED = """
        WITH taken AS (
            {taken}
        ), item AS (
            SELECT t.id, v.ord, v.item, {base} + row_number() OVER (ORDER BY t.id, v.ord) AS seq
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
        {tail} FROM item;"""
# The run's snapshot kept, with the run's own transaction among those running (a snapshot
# leaves out its own: a session that ran this and then wrote a pending row, before its
# commit, would have had that row passed over by every later run).
_KEPT = """
    UPDATE feed_state
    SET last_seq = last + n,
        horizon = pg_snapshot_xmin(seen)::text::bigint,
        snapshot = pg_snapshot_xmin(seen)::text || ':' || pg_snapshot_xmax(seen)::text || ':'
            || array_to_string(ARRAY(
                SELECT x FROM pg_snapshot_xip(seen) AS x
                UNION
                SELECT pg_current_xact_id_if_assigned() AS x
                WHERE pg_current_xact_id_if_assigned() < pg_snapshot_xmax(seen)
                ORDER BY 1), ',')
    WHERE id = 1;
    RETURN n;
END
$$
"""

# As migration 0022's but for where it looks (`_WHERE`) and its plans (`_HEAD`).
FEED_NUMBER_PENDING = (
    _HEAD.format(name="feed_number_pending")
    + f"""
    SELECT {_WHERE}
    INTO since, running FROM feed_state AS s WHERE s.id = 1;"""
    + _RESTORED
    + """
    IF NOT EXISTS (SELECT FROM feed_pending WHERE txid >= since)
       AND NOT EXISTS (SELECT FROM feed_pending WHERE txid = ANY (running)) THEN
        RETURN 0;  -- nothing committed since the last run: no lock, no write
    END IF;"""
    + _LOCKED
    + """
    -- A statement of its own: its snapshot, taken under the lock, sees every row committed
    -- before any other run that follows this one takes the lock; it is the one kept."""
    + _NUMBERED.format(
        taken=f"DELETE FROM feed_pending WHERE {_PENDING}\n            RETURNING id, payload",
        base="last",
        tail="SELECT count(*), pg_current_snapshot() INTO n, seen",
    )
    + _KEPT
)

# What `live.sequencer` runs when the run's statement failed on the data: the same rows under
# the same lock, in the same order and numbers, one at a time, each in a subtransaction of
# its own (an EXCEPTION block: not on every run, which would pay for it each time); a row
# that fails again is set aside in `feed_rejected` with its error. A counter behind the
# numbers `changes` holds is no row's fault: the run fails, as the other would.
FEED_NUMBER_PENDING_APART = (
    _HEAD.format(name="feed_number_pending_apart")
    + _LOCKED
    + f"""
    IF EXISTS (SELECT FROM changes WHERE seq > last) THEN
        RAISE EXCEPTION 'feed_state.last_seq (%) is behind the numbers changes holds', last;
    END IF;
    seen := pg_current_snapshot();  -- if nothing is found: the rows' statement's, as ever
    FOR one IN
        SELECT p.id, p.payload, p.txid, pg_current_snapshot() AS seen
        FROM feed_pending AS p WHERE {_PENDING}
        ORDER BY p.id
    LOOP
        seen := one.seen;
        BEGIN"""
    + _NUMBERED.format(
        taken="SELECT one.id AS id, one.payload AS payload",
        base="last + n",
        tail="SELECT count(*) INTO k",
    )
    + """
            n := n + k;
        EXCEPTION WHEN integrity_constraint_violation OR data_exception THEN
            GET STACKED DIAGNOSTICS refused = CONSTRAINT_NAME;
            IF refused = 'pk_changes' OR refused = 'pk_change_recipients' AND NOT EXISTS (
                SELECT FROM jsonb_to_recordset(one.payload -> 'r') AS r(o integer, u bigint)
                GROUP BY r.o, r.u HAVING count(*) > 1
            ) THEN
                RAISE;  -- a number taken already, not a recipient named twice: no row's fault
            END IF;
            INSERT INTO feed_rejected (id, payload, txid, error)
            VALUES (one.id, one.payload, one.txid, SQLSTATE || ': ' || SQLERRM)
            ON CONFLICT (id) DO UPDATE SET payload = excluded.payload,
                txid = excluded.txid, error = excluded.error, rejected_at = now();
            RAISE WARNING 'change feed: pending row % set aside in feed_rejected: %',
                one.id, SQLERRM;
        END;
        DELETE FROM feed_pending WHERE id = one.id;
    END LOOP;"""
    + _KEPT
)


def _as_0022_left_it() -> str:
    """The function migration 0022 created, from that migration's own text: what the
    downgrade restores."""
    path = Path(__file__).with_name("2026_12_05_0022_feed_numbered_after_commit.py")
    spec = importlib.util.spec_from_file_location("neo_events_migration_0022", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.FEED_NUMBER_PENDING).replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:  # no run between the column's coming and the function's
        op.execute("LOCK TABLE feed_state IN EXCLUSIVE MODE")
    with op.batch_alter_table("feed_state") as table:
        table.add_column(sa.Column("snapshot", sa.Text(), nullable=True))
    op.create_table(
        "feed_rejected",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("txid", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column(
            "rejected_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_rejected")),
    )
    if postgresql:
        op.execute(FEED_NUMBER_PENDING)
        op.execute(FEED_NUMBER_PENDING_APART)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    kept = op.get_bind().execute(sa.text("SELECT count(*) FROM feed_rejected")).scalar()
    if kept:
        raise RuntimeError(
            f"feed_rejected holds {kept} pending row(s) no run could number: mend them back"
            " into feed_pending, or delete them, before downgrading (docs/operations.md)"
        )
    if postgresql:
        op.execute("LOCK TABLE feed_state IN EXCLUSIVE MODE")
        op.execute("DROP FUNCTION feed_number_pending_apart()")
        op.execute(_as_0022_left_it())
    op.drop_table("feed_rejected")
    with op.batch_alter_table("feed_state") as table:
        table.drop_column("snapshot")
