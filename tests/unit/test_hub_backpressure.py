"""A connection's queue is bounded: a client that falls behind is cut off, told to resume."""

from __future__ import annotations

import pytest

from neo_events.live.connection import Connection, Message, Overflow

pytestmark = pytest.mark.anyio


def _message(seq: int) -> Message:
    return Message(seq, frozenset({1}), {"seq": seq})


async def test_a_slow_client_overflows_instead_of_growing_memory() -> None:
    connection = Connection(user_id=1, queue_size=3)
    connection.end_replay()
    for seq in range(1, 101):
        connection.offer(_message(seq))
    assert connection._queue.qsize() == 3  # nothing past the bound was kept
    assert connection.overflowed
    delivered = [await connection.next(1) for _ in range(3)]
    assert [m.seq for m in delivered if m] == [1, 2, 3]
    with pytest.raises(Overflow):
        await connection.next(1)
    assert connection.last_seq == 3  # where the client resumes from


async def test_replayed_and_live_messages_are_sent_once_in_order() -> None:
    connection = Connection(user_id=1, queue_size=10)
    connection.last_seq = 2
    connection.offer(_message(5))  # live, arrives during the replay: buffered
    for seq in (3, 4, 5):
        connection.queue_replay(_message(seq))
    connection.end_replay()
    got = [await connection.next(1) for _ in range(3)]
    assert [m.seq for m in got if m] == [3, 4, 5]
    assert await connection.next(0.01) is None  # the buffered duplicate of 5 was dropped
