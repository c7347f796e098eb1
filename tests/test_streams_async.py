"""The asynchronous stream bodies (st2bridge.streams.events_async, as portal.asgi serves them)
on an event loop of this process, against the real database and the process's one poller
(st2bridge.stream_hub): what tests/reliability/test_stream_serving.py cannot reach over HTTP,
such as a stream whose client reads slower than events come."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from st2bridge import stream_hub, streams
from st2bridge.auth import Caller
from st2bridge.models import StreamEvent

pytestmark = pytest.mark.django_db(transaction=True)  # the poller reads from its own thread


@pytest.fixture(autouse=True)
def fast(settings):
    settings.ST2_STREAM_POLL_INTERVAL = 0.01
    settings.ST2_STREAM_HEARTBEAT = 0.2


def record(names_and_users):
    StreamEvent.objects.bulk_create(
        StreamEvent(name=name, user=user, data={"n": n})
        for n, (name, user) in enumerate(names_and_users)
    )


def read(caller, selection, then, count):
    """The first `count` frames of a stream of `caller`'s after its opening newline, `then`
    (a function using the database) called once the stream is open."""

    async def run():
        body = streams.events_async(caller, selection)
        try:
            assert await body.__anext__() == "\n"
            await sync_to_async(then, thread_sensitive=False)()
            return [await asyncio.wait_for(body.__anext__(), 10) for _ in range(count)]
        finally:
            await body.aclose()

    return asyncio.run(run())


def test_a_stream_that_falls_behind_reads_the_table_and_misses_nothing(alice, monkeypatch):
    monkeypatch.setattr(stream_hub, "MAX_PENDING", 3)  # 20 events at once overflow it
    caller = Caller(alice, "authentication token", "header")
    events = [("st2.announcement__n", "alice" if n % 2 == 0 else "bob") for n in range(40)]
    frames = read(caller, streams.Selection(), lambda: record(events), 20)
    assert [frame.split("\n")[1] for frame in frames] == [
        f'data: {{"n":{n}}}' for n in range(0, 40, 2)
    ]  # alice's, in order, none twice; bob's never


def test_a_quiet_stream_sends_heartbeats_and_skips_unwanted_events(alice):
    caller = Caller(alice, "authentication token", "header")
    selection = streams.Selection(patterns=("st2.execution__*",))
    frames = read(caller, selection, lambda: record([("st2.announcement__x", "alice")]), 2)
    assert frames == ["\n", "\n"]
