"""st2bridge.client.St2Client over real HTTP against the embedded API of a live server."""

import pytest

from st2bridge.client import ApiError, ApiUnauthorized, ApiUnavailable, St2Client

from .catalog_support import register_bundled_packs
from .conftest import PASSWORD


@pytest.fixture
def embedded(live_server, settings):
    """Point the client's settings at the live server's embedded API; bundled packs loaded."""
    settings.ST2_EMBEDDED_BASE_URL = live_server.url
    settings.ST2_AUTH_URL = settings.ST2_API_URL = settings.ST2_STREAM_URL = ""
    register_bundled_packs()
    return live_server


def signed_in(username):
    token = St2Client.from_settings().login(username, PASSWORD)
    return St2Client.from_settings(token=token["token"])


def test_urls_default_to_the_embedded_api(settings):
    settings.ST2_EMBEDDED_BASE_URL = "http://127.0.0.1:9999/"
    settings.ST2_AUTH_URL = settings.ST2_API_URL = settings.ST2_STREAM_URL = ""
    client = St2Client.from_settings()
    assert client.auth_url == "http://127.0.0.1:9999/auth/v1"
    assert client.api_url == "http://127.0.0.1:9999/api/v1"
    assert client.stream_url == "http://127.0.0.1:9999/stream/v1"


def test_remote_urls_win_over_the_embedded_api(settings):
    settings.ST2_AUTH_URL = "https://st2.example.com/auth/v1"
    settings.ST2_API_URL = "https://st2.example.com/api/v1/"
    settings.ST2_STREAM_URL = "https://st2.example.com/stream/v1"
    client = St2Client.from_settings()
    assert client.auth_url == "https://st2.example.com/auth/v1"
    assert client.api_url == "https://st2.example.com/api/v1"


def test_login_and_whoami(embedded, alice):
    token = St2Client.from_settings().login("alice", PASSWORD, ttl=60)
    assert token["user"] == "alice" and len(token["token"]) == 32 and token["expiry"]
    me = St2Client.from_settings(token=token["token"]).whoami()
    assert me["username"] == "alice"
    assert me["rbac"]["is_admin"] is False


def test_bad_password_is_unauthorized(embedded, alice):
    with pytest.raises(ApiUnauthorized) as raised:
        St2Client.from_settings().login("alice", "wrong")
    assert raised.value.status == 401
    assert raised.value.faultstring == "Invalid or missing credentials"


def test_throttled_login_carries_retry_after(embedded, alice, settings):
    settings.ST2_LOGIN_FAILURES_PER_USER = 2
    client = St2Client.from_settings()
    for _ in range(2):
        with pytest.raises(ApiUnauthorized):
            client.login("alice", "wrong")
    with pytest.raises(ApiError) as raised:
        client.login("alice", PASSWORD)
    assert raised.value.status == 429
    assert 1 <= raised.value.retry_after <= settings.ST2_LOGIN_FAILURE_WINDOW


def test_unknown_token_is_unauthorized(embedded):
    with pytest.raises(ApiUnauthorized):
        St2Client.from_settings(token="0" * 32).list_packs()


def test_api_key_authenticates(embedded, alice):
    created = signed_in("alice")._request(
        "POST", f"{embedded.url}/api/v1/apikeys", json={"metadata": {"used_by": "test"}}
    )
    client = St2Client.from_settings(api_key=created.json()["key"])
    assert client.whoami()["username"] == "alice"


def test_packs_and_actions(embedded, alice):
    client = signed_in("alice")
    assert {"core", "default", "demo"} <= {pack["ref"] for pack in client.list_packs()}
    assert client.get_pack("demo")["ref"] == "demo"
    core = client.list_actions(pack="core")
    assert "core.local" in {action["ref"] for action in core}
    assert {action["pack"] for action in core} == {"core"}
    assert client.get_action("core.local")["runner_type"] == "local-shell-cmd"
    parameters = client.action_parameters("core.local")
    assert parameters["cmd"]["required"] is True
    assert "timeout" in parameters  # merged from the runner


def test_list_actions_reads_every_page(embedded, alice):
    client = signed_in("alice")
    everything = client.list_actions()
    client.page_size = 2
    assert [action["ref"] for action in client.list_actions()] == [a["ref"] for a in everything]
    assert len(everything) > 2


def test_not_found_carries_the_faultstring(embedded, alice):
    with pytest.raises(ApiError) as raised:
        signed_in("alice").get_action("core.nope")
    assert raised.value.status == 404
    assert "core.nope" in raised.value.faultstring
    assert not isinstance(raised.value, ApiUnauthorized)


def test_launch_list_and_get_executions(embedded, alice, bob):
    client = signed_in("alice")
    first = client.launch("core.noop")
    second = client.launch("core.echo", {"message": "hi"})
    assert first["status"] == "requested"
    signed_in("bob").launch("core.noop")

    items, total = client.list_executions(limit=1)
    assert total == 2 and [item["id"] for item in items] == [second["id"]]
    items, total = client.list_executions(action="core.noop", user="alice", status=None)
    assert total == 1 and items[0]["id"] == first["id"]
    assert client.get_execution(second["id"])["parameters"]["message"] == "hi"


def test_invalid_launch_is_an_error(embedded, alice):
    with pytest.raises(ApiError) as raised:
        signed_in("alice").launch("core.local", {})
    assert raised.value.status == 400
    assert "cmd" in raised.value.faultstring


def test_unreachable_api(settings):
    settings.ST2_EMBEDDED_BASE_URL = "http://127.0.0.1:9"  # discard port: refused
    with pytest.raises(ApiUnavailable) as raised:
        St2Client.from_settings().login("alice", PASSWORD)
    assert raised.value.status is None
