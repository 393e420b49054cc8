"""The statements of a calendar read's keys (`calendar_keys`): the rows of each live, opaque
event whose span reaches the window that one of the users holds a role on, but those they
all declined, own events first, each kind cut at its budget (`calendar_keys.Budget`)."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    and_,
    any_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased

from neo_events import db
from neo_events.invitations.responses import DECLINED
from neo_events.models import Attendee, Event, EventPermission, OccurrenceResponse

# Built once: an alias made per call costs more than the query's compilation cache saves.
_HELD = aliased(EventPermission, name="held")


@cache
def statement(dialect: str, for_viewer: bool, one_user: bool = False) -> Select[Any]:
    """A row for each live, opaque event whose span reaches the window that one of the users
    holds a role on, but those every one of them who holds it declined for the series and
    for no occurrence otherwise (`_declined_so`): (id, version, response, others[, visible])
    for one user, with that user's series answer if invited; for several, the holders among
    them gathered by event (`array_agg` on PostgreSQL, `json_group_array` on SQLite) before
    the event is probed, once however many hold it, then the answers of those invited to
    each event found (a probe of `pk_attendees` an event: after the window, not one a grant
    before it, which read the whole attendees table on PostgreSQL; see `calendar_keys.Keys.gather`).
    `others`: none of the users created the event (`Event.owner_id`).
    Parameters: the window (`start`, `end`), the users (`users`: a list, or, if `one_user`,
    the one id), how many events at most (`calendar_keys.Budget.params`: `own_limit` of the
    users' own, the first by start, `others_limit` of the others, `key_limit` in all; own
    rows first) and, for a viewer, `viewer_id`. Built once per dialect and kind (every
    conflict check runs it, and building it cost more than running it).

    One user is compared with `=`, not `= ANY` of a one-element array: PostgreSQL estimates
    an array parameter at ten elements, so its generic plan for that statement looked ten
    times dearer than the custom one and it planned every execution afresh (0.15 ms of its
    CPU a check); with `=` it settles on the generic plan (0.01 ms) after five executions,
    as for any prepared statement. On PostgreSQL the events are a LATERAL subquery
    that OFFSET 0 keeps from being flattened: a probe by id per role (or per event, for
    several users: index-only on `ix_events_id_calendar`, which includes `owner_id`), where
    the planner's own choice is a hash join over a sequential scan of `events`, three times
    slower at 100,000 events. SQLite probes by primary key anyway. Each kind's rows are
    numbered by start (`row_number` over `others`, the order of the answer too, so the sort
    is the one a plain LIMIT had) and cut at its limit."""
    query = _one_user_keys(dialect, for_viewer) if one_user else _gathered_keys(dialect, for_viewer)
    # the first events of each kind by start, one past its budget (`calendar_keys.read`);
    # by id among equals
    if dialect == "postgresql":
        found = query.selected_columns
        nth = func.row_number().over(
            partition_by=found.others, order_by=(found.span_start, found.id)
        )
        ranked: Any = query.add_columns(nth.label("nth")).subquery("ranked")
        limits = [bindparam(name, type_=Integer) for name in ("others_limit", "own_limit")]
        limit = case((ranked.c.others, limits[0]), else_=limits[1])
        columns = [c for c in ranked.c if c.key != "nth"]
        query = select(*columns).where(ranked.c.nth <= limit)
    else:  # SQLite: the rows found once, then the first of each (its window functions
        # took 32 ms over 20,000 events, this 20 ms, a plain sort and LIMIT 12 ms)
        rows = query.cte("found").prefix_with("MATERIALIZED")
        kinds = [
            select(*rows.c)
            .where(kind)
            .order_by(rows.c.span_start, rows.c.id)
            .limit(bindparam(limit, type_=Integer))
            .subquery()
            for kind, limit in ((~rows.c.others, "own_limit"), (rows.c.others, "others_limit"))
        ]
        ranked = union_all(*(select(*kind.c) for kind in kinds)).subquery("ranked")
        query = select(*ranked.c)
    return query.order_by(ranked.c.others, ranked.c.span_start, ranked.c.id).limit(
        bindparam("key_limit")
    )


def _declined_so(attendee: Any) -> Any:
    """An invitation declined for the series and for no occurrence otherwise (an answer
    other than `declined` for one keeps that occurrence busy: `responses.BusyPeople`)."""
    return and_(attendee.response == DECLINED, ~_answered_otherwise(attendee))


def _answered_otherwise(attendee: Any) -> Any:
    """Some occurrence answered other than `declined` (a probe of its primary key)."""
    return exists().where(
        OccurrenceResponse.event_id == attendee.event_id,
        OccurrenceResponse.user_id == attendee.user_id,
        OccurrenceResponse.response != DECLINED,
    )


def _one_user_keys(dialect: str, for_viewer: bool) -> Select[Any]:
    """(id, version, response, others[, visible]): a row a role is a row an event."""
    held = _HELD
    query, event_id, columns = _probed(dialect, held, held.event_id, for_viewer)
    columns[3:3] = [(columns.pop(-1 - for_viewer) != bindparam("users")).label("others")]
    query = query.add_columns(*columns[:2], Attendee.response, *columns[2:])
    query = query.outerjoin(
        Attendee, (Attendee.event_id == event_id) & (Attendee.user_id == held.user_id)
    )
    # a deleted event's grants: not even probed; a declined invitation's events: free time
    kept = or_(Attendee.response.is_distinct_from(DECLINED), _answered_otherwise(Attendee))
    return query.where(held.user_id == bindparam("users"), held.live == true(), kept)


def _gathered_keys(dialect: str, for_viewer: bool) -> Select[Any]:
    """(id, version, users, others[, visible], and the answers: `invitees`/`responses`
    arrays on PostgreSQL, `invited` pairs on SQLite), the users' roles gathered by event
    first; an event every holder among them declined so (`_declined_so`) left out."""
    held = _HELD
    gathered: Any = func.array_agg if dialect == "postgresql" else func.json_group_array
    source = (  # json_group_array keeps NULLs, as array_agg does
        select(held.event_id, gathered(held.user_id).label("users"))
        .where(db.one_of(dialect, held.user_id, "users"), held.live == true())
        .group_by(held.event_id)
        .subquery("gathered")
    )
    query, event_id, columns = _probed(dialect, source, source.c.event_id, for_viewer)
    owner = columns.pop(-1 - for_viewer)
    columns[2:2] = [source.c.users, (~db.one_of(dialect, owner, "users")).label("others")]
    # The answers of those who hold an event found in the window and are invited to it: a
    # probe of pk_attendees per holder (their one or two, not every user's), after the
    # window (not one per grant, before it). An answer of someone who does not hold the
    # event is none of the read's (an invitation outlives a role taken away).
    if dialect == "postgresql":
        holding = Attendee.user_id == any_(source.c.users)
        answers = (
            select(
                func.array_agg(Attendee.user_id).label("invitees"),
                func.array_agg(Attendee.response).label("responses"),
                func.count().filter(_declined_so(Attendee)).label("declined"),
            )
            .where(Attendee.event_id == event_id, holding)
            .offset(0)
            .lateral("answers")
        )
        query = query.join(answers, true())
        query = query.where(answers.c.declined < func.cardinality(source.c.users))
        columns += [answers.c.invitees, answers.c.responses]
    else:
        holders = func.json_each(source.c.users).table_valued("value")
        invited = (Attendee.event_id == event_id, Attendee.user_id.in_(select(holders.c.value)))
        pairs = func.json_group_array(func.json_array(Attendee.user_id, Attendee.response))
        columns.append(select(pairs).where(*invited).scalar_subquery().label("invited"))
        declined = select(func.count()).where(*invited, _declined_so(Attendee))
        query = query.where(declined.scalar_subquery() < func.json_array_length(source.c.users))
    return query.add_columns(*columns)


def _probed(
    dialect: str, source: Any, source_event: Any, for_viewer: bool
) -> tuple[Select[Any], Any, list[Any]]:
    """The events of `source`'s roles (its event ids: `source_event`) that are live, opaque
    and reach the window, each probed by id: the query without columns yet, the probed
    event's id, and its columns (id, version, span_start, owner_id[, visible])."""
    live = (
        Event.deleted_at.is_(None),
        Event.transparency == "opaque",  # free time is never busy, never a conflict
        Event.span_start < bindparam("end"),
        or_(Event.span_end.is_(None), Event.span_end > bindparam("start")),
    )
    # No title: the index holds everything else, so a probe never reads the table (a
    # check's titles are read afterwards for what clashes, `titles`).
    wanted: list[Any] = [Event.id, Event.version, Event.span_start, Event.owner_id]
    if dialect == "postgresql":
        found = select(*wanted).where(Event.id == source_event, *live).offset(0)
        lateral = found.lateral("found")
        event_id: Any = lateral.c.id
        columns: list[Any] = [lateral.c[c.key] for c in wanted]
        query = select().select_from(source).join(lateral, true())
    else:
        event_id = Event.id
        columns = list(wanted)
        query = select().select_from(source).join(Event, Event.id == source_event)
        query = query.where(*live)
    if for_viewer:
        sees = exists().where(
            EventPermission.event_id == event_id,
            EventPermission.user_id == bindparam("viewer_id"),
        )
        columns.append(sees.label("visible"))
    return query, event_id, columns


ARRAY_COLUMNS: tuple[str, ...] = ("ids", "versions", "responses", "own_taken", "own_last")
ARRAY_COLUMNS += ("others_taken", "others_last")


def one_user_arrays() -> Select[Any, Any, Any, int, Any, int, Any]:
    """PostgreSQL: one user's keys (`calendar_keys.read` of one user who is the viewer) as
    one row of three arrays in one order, `ids`, `versions` and `responses` (NULL for no
    event), own events first, with how many of each kind (`own_taken`, `others_taken`) and
    the last one's start (`own_last`, `others_last`), for a statement that reads them
    beside what it writes (`statements.CREATE_CHECKED`; its columns: `ARRAY_COLUMNS`); the
    same parameters as `statement`'s (`start`, `end`, `users`: the one id, and the limits).
    `calendar_keys.Keys.of_arrays` reads the row."""
    found = statement("postgresql", False, True).subquery("calendar_keys")
    own, others = ~found.c.others, found.c.others
    return select(
        func.array_agg(found.c.id).label("ids"),
        func.array_agg(found.c.version).label("versions"),
        func.array_agg(found.c.response).label("responses"),
        func.count().filter(own).label("own_taken"),
        func.max(found.c.span_start).filter(own).label("own_last"),
        func.count().filter(others).label("others_taken"),
        func.max(found.c.span_start).filter(others).label("others_last"),
    )
