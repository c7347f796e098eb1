"""Event streams as `make run` serves them (portal.asgi under gunicorn with uvicorn's worker;
issue 16): an open stream holds no thread, a client that goes away is noticed within a second,
and the asynchronous bodies send exactly what the synchronous ones do (tests/test_api_stream.py
checks those through Django's test client): the same events, filtered by name, execution and
owner, the end event, the output stream and its EOF, credentials and the cookie."""

import statistics
import time

import pytest
import requests
from requests.adapters import HTTPAdapter

from tests.live_site import LiveSite

pytestmark = pytest.mark.reliability

THREADS = 4  # WEB_THREADS of the site: fewer than the streams the tests open
STREAMS = 3 * THREADS


@pytest.fixture(scope="module")
def site():
    settings = {
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": str(THREADS),
        "ST2_STREAMS_PER_USER": str(STREAMS),
    }
    with LiveSite(**settings) as site:
        site.add_user("alice")
        site.add_user("bob")
        yield site


def session_of(site, username=None):
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=2 * STREAMS))
    session.headers["X-Auth-Token"] = site.token(username) if username else site.token()
    return session


class Stream:
    """An open stream read line by line, with a timeout on each read."""

    def __init__(self, session, url, timeout=10):
        self.response = session.get(url, stream=True, timeout=(5, timeout))
        self.status = self.response.status_code
        self._lines = self.response.iter_lines(decode_unicode=True) if self.status == 200 else None

    def events(self, count):
        """The next `count` events as (name, data text), skipping heartbeats."""
        found, name = [], None
        while len(found) < count:
            line = next(self._lines)
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                found.append((name, line[len("data: ") :]))
        return found

    def rest(self):
        """Everything until the server ends the stream."""
        return "\n".join(self._lines)

    def close(self):
        self.response.close()


def launch(session, site, cmd):
    body = {"action": "core.local", "parameters": {"cmd": cmd}}
    launched = session.post(f"{site.url}/api/v1/executions", json=body, timeout=10)
    assert launched.status_code == 201, launched.text
    return launched.json()["id"]


def get_seconds(session, url):
    started = time.monotonic()
    response = session.get(url, timeout=10)
    assert response.status_code == 200, response.text
    return time.monotonic() - started


def test_more_open_streams_than_threads_do_not_block_a_get(site):
    alice, bob = session_of(site, "alice"), session_of(site, "bob")
    whoami = f"{site.url}/api/v1/user"
    for _ in range(5):  # warm up
        get_seconds(bob, whoami)
    before = statistics.median(get_seconds(bob, whoami) for _ in range(15))
    streams = [Stream(alice, f"{site.url}/stream/v1/stream") for _ in range(STREAMS)]
    try:
        assert [stream.status for stream in streams] == [200] * STREAMS
        during = statistics.median(get_seconds(bob, whoami) for _ in range(15))
    finally:
        for stream in streams:
            stream.close()
    print(
        f"\nGET /api/v1/user median {before * 1000:.1f} ms, {during * 1000:.1f} ms with {STREAMS}"
    )
    # Under the thread-per-stream server, the 13th request waited for a stream to end (25 s
    # heartbeat at least): here it keeps its time (the slack: a shared 2-core machine).
    assert during <= 2 * before + 0.01


def test_a_client_that_goes_away_frees_its_slot_within_a_second(site):
    bob = session_of(site, "bob")
    url = f"{site.url}/stream/v1/stream"
    streams = [Stream(bob, url) for _ in range(STREAMS)]
    try:
        assert [stream.status for stream in streams] == [200] * STREAMS
        refused = Stream(bob, url)
        refused.close()
        assert refused.status == 429
        streams.pop().close()  # the client goes away; the heartbeat is 25 s off
        closed_at = time.monotonic()
        again = Stream(bob, url)
        while again.status == 429 and time.monotonic() - closed_at < 3:
            again.close()
            again = Stream(bob, url)
        freed_after = time.monotonic() - closed_at
        streams.append(again)
        assert again.status == 200
        assert freed_after < 1.0, f"the slot came back after {freed_after:.2f} s"
    finally:
        for stream in streams:
            stream.close()


def test_events_are_filtered_by_owner_name_and_execution(site):
    alice, bob, admin = session_of(site, "alice"), session_of(site, "bob"), session_of(site)
    alices = Stream(alice, f"{site.url}/stream/v1/stream")
    admins = Stream(admin, f"{site.url}/stream/v1/stream?events=st2.execution__create")
    bobs_own = launch(bob, site, "echo from-bob")
    alices_own = launch(alice, site, "echo from-alice")
    try:
        # alice sees only her execution's events; the admin sees both creations and no update.
        for name, data in alices.events(3):
            assert name.startswith(("st2.execution__", "st2.liveaction__")), name
            assert alices_own in data and bobs_own not in data
        created = admins.events(2)
        assert [name for name, _ in created] == ["st2.execution__create"] * 2
        assert bobs_own in created[0][1] and alices_own in created[1][1]
    finally:
        alices.close()
        admins.close()


def test_the_stream_ends_with_its_end_event(site):
    alice = session_of(site, "alice")
    execution_id = launch(alice, site, "sleep 30")
    query = f"end_event=st2.execution__update&end_execution_id={execution_id}"
    stream = Stream(alice, f"{site.url}/stream/stream?{query}")  # the alias without /v1
    alice.delete(f"{site.url}/api/v1/executions/{execution_id}", timeout=10)
    text = stream.rest()  # returns: the server ended the stream
    assert text.rstrip().endswith("}")
    assert '"status":"canceled"' in text.splitlines()[-1]


def test_output_stream_sends_chunks_then_eof(site):
    alice = session_of(site, "alice")
    execution_id = launch(alice, site, "echo one; sleep 1; echo two")
    stream = Stream(alice, f"{site.url}/stream/v1/executions/{execution_id}/output")
    text = stream.rest()
    assert '"data":"one\\n"' in text and '"data":"two\\n"' in text
    assert text.rstrip().endswith("event: EOF\ndata: ''")


def test_credentials_and_the_cookie(site):
    alice = session_of(site, "alice")
    anonymous = requests.get(f"{site.url}/stream/v1/stream", timeout=10)
    assert anonymous.status_code == 401
    cookie_only = requests.Session()
    cookie_only.cookies.set("auth-token", alice.headers["X-Auth-Token"], path="/stream")
    stream = Stream(cookie_only, f"{site.url}/stream/v1/stream")
    stream.close()
    assert stream.status == 200
    other = launch(session_of(site, "bob"), site, "true")
    refused = requests.get(
        f"{site.url}/stream/v1/executions/{other}/output",
        headers={"X-Auth-Token": alice.headers["X-Auth-Token"]},
        timeout=10,
    )
    assert refused.status_code == 404  # bob's execution is not alice's to see


def test_the_access_log_has_every_request_without_its_query_string(site):
    token = session_of(site, "alice").headers["X-Auth-Token"]
    answered = requests.get(f"{site.url}/api/v1/user?x-auth-token={token}", timeout=10)
    assert answered.status_code == 200
    stream = Stream(requests.Session(), f"{site.url}/stream/v1/stream?x-auth-token={token}")
    stream.close()
    assert stream.status == 200
    request_id = answered.headers["X-Request-ID"]
    deadline = time.monotonic() + 5
    while "GET /stream/v1/stream" not in site.log() and time.monotonic() < deadline:
        time.sleep(0.1)  # a stream's line is written when it ends
    log = site.log()
    assert '"GET /api/v1/user" 200 ' in log and f'"{request_id}"' in log
    assert '"GET /stream/v1/stream" 200 ' in log
    assert token not in log
