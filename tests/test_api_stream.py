"""/stream/v1/stream: server-sent events filtered by name, owner and execution (notes §8)."""

import pytest

from .catalog_support import register_bundled_packs

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def setup(db, settings):
    settings.ST2_STREAM_POLL_INTERVAL = 0.01
    settings.ST2_STREAM_MAX_SECONDS = 1
    register_bundled_packs()


def launch(api, action, **parameters):
    body = {"action": action, "parameters": parameters}
    return api.post("/api/v1/executions", body, format="json").json()


def open_stream(api, query=""):
    response = api.get(f"/stream/v1/stream{query}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream; charset=UTF-8"
    assert response["Cache-Control"] == "no-cache"
    chunks = iter(response.streaming_content)
    assert next(chunks) == b"\n"  # sent at once, no data line
    return chunks


def read_all(chunks):
    return b"".join(chunks).decode()


def test_update_events_until_end_event(alice_api):
    execution = launch(alice_api, "core.local", cmd="sleep 1")
    query = f"?end_event=st2.execution__update&end_execution_id={execution['id']}"
    chunks = open_stream(alice_api, query)
    alice_api.delete(f"/api/v1/executions/{execution['id']}")
    text = read_all(chunks)
    assert "event: st2.execution__update\ndata: {" in text
    assert '"status":"canceled"' in text
    assert text.rstrip().endswith("}")  # closed right after the end event


def test_event_name_globs_filter(alice_api):
    chunks = open_stream(alice_api, "?events=st2.announcement__*")
    launch(alice_api, "core.local", cmd="true")
    assert "event:" not in read_all(chunks)


def test_other_users_events_and_secrets_never_sent(alice_api, bob_api, admin_api):
    alice_stream = open_stream(alice_api)
    admin_stream = open_stream(admin_api)
    launch(bob_api, "demo.deploy", environment="staging", version="1", api_token="canary-5551")
    assert "event:" not in read_all(alice_stream)
    admin_text = read_all(admin_stream)
    assert "st2.execution__create" in admin_text
    assert "canary-5551" not in admin_text
    assert "********" in admin_text


def test_stream_needs_credentials(anon_api, alice):
    assert anon_api.get("/stream/v1/stream").status_code == 401
