"""The `auth-token` cookie (issue 17): set with a new token and after token-authenticated
requests, as StackStorm sets it for st2web's event streams; accepted by GET on the stream
routes only, so that every other route refuses a request whose only credential is a cookie a
browser sent on its own (no cross-site request forgery)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from st2bridge.api.openapi import document
from st2bridge.models import Token

from .catalog_support import register_bundled_packs
from .conftest import basic, login

pytestmark = pytest.mark.django_db

COOKIE = "auth-token"


@pytest.fixture(autouse=True)
def setup(db, settings):
    settings.ST2_STREAM_POLL_INTERVAL = 0.01
    settings.ST2_STREAM_MAX_SECONDS = 1
    register_bundled_packs()


def cookie_only(raw):
    """A client whose only credential is the cookie, as a browser's EventSource sends it."""
    client = APIClient()
    client.cookies[COOKIE] = raw
    return client


def canceled_execution(api):
    """An execution that is already over, so that its output stream ends (with EOF)."""
    body = {"action": "core.local", "parameters": {"cmd": "echo hi"}}
    execution = api.post("/api/v1/executions", body, format="json").json()
    api.delete(f"/api/v1/executions/{execution['id']}")
    return execution["id"]


def test_a_new_token_comes_as_an_httponly_samesite_cookie_expiring_with_it(alice):
    response = login("alice", ttl=600)
    assert response.status_code == 201
    cookie = response.cookies[COOKIE]
    assert cookie.value == response.json()["token"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/stream"
    assert 595 <= int(cookie["max-age"]) <= 600
    assert not cookie["secure"]  # plain HTTP: a Secure cookie would never come back


def test_the_cookie_is_secure_behind_tls(alice, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = APIClient().post(
        "/auth/v1/tokens", {}, format="json", HTTP_AUTHORIZATION=basic("alice"),
        HTTP_X_FORWARDED_PROTO="https",
    )  # fmt: skip
    assert response.cookies[COOKIE]["secure"] is True


def test_samesite_as_configured(alice, settings):
    settings.ST2_AUTH_COOKIE_SAMESITE = "Strict"
    assert login("alice").cookies[COOKIE]["samesite"] == "Strict"


def test_the_unversioned_auth_path_gives_a_token_and_the_cookie(alice):
    response = APIClient().post(
        "/auth/tokens", {}, format="json", HTTP_AUTHORIZATION=basic("alice")
    )
    assert response.status_code == 201
    assert response.cookies[COOKIE].value == response.json()["token"]


def test_a_token_authenticated_request_sets_the_cookie_unless_the_browser_holds_it(alice):
    raw = login("alice").json()["token"]
    by_header = APIClient().get("/api/v1/user", HTTP_X_AUTH_TOKEN=raw)
    assert by_header.cookies[COOKIE].value == raw
    assert by_header.cookies[COOKIE]["httponly"] is True
    by_query = APIClient().get(f"/api/v1/user?x-auth-token={raw}")
    assert by_query.cookies[COOKIE].value == raw
    holding = cookie_only(raw)
    assert COOKIE not in holding.get("/api/v1/user", HTTP_X_AUTH_TOKEN=raw).cookies


def test_api_keys_and_refusals_set_no_cookie(alice_api):
    key = alice_api.post("/api/v1/apikeys", {}, format="json").json()["key"]
    assert COOKIE not in APIClient().get("/api/v1/user", HTTP_ST2_API_KEY=key).cookies
    refused = APIClient().get("/api/v1/user", HTTP_X_AUTH_TOKEN="0" * 32)
    assert refused.status_code == 401 and COOKIE not in refused.cookies


def test_the_cookie_alone_opens_an_execution_output_stream(alice, alice_api):
    execution_id = canceled_execution(alice_api)
    raw = login("alice").json()["token"]
    for prefix in ("/stream/v1", "/stream"):
        response = cookie_only(raw).get(f"{prefix}/executions/{execution_id}/output")
        assert response.status_code == 200, prefix
        assert response["Content-Type"] == "text/event-stream; charset=UTF-8"
        assert "event: EOF" in b"".join(response.streaming_content).decode()


def test_the_cookie_alone_opens_the_event_stream_with_its_users_events(alice, alice_api, bob_api):
    raw = login("alice").json()["token"]
    for path in ("/stream/v1/stream", "/stream/stream"):
        response = cookie_only(raw).get(path)
        assert response.status_code == 200, path
        chunks = iter(response.streaming_content)
        assert next(chunks) == b"\n"
        canceled_execution(bob_api)
        mine = canceled_execution(alice_api)
        text = b"".join(chunks).decode()
        ids = set(re.findall(r'"id":"([0-9a-f]{24})"', text))
        assert mine in ids
        assert all(alice_api.get(f"/api/v1/executions/{i}").status_code in (200, 404) for i in ids)
        assert '"user":"bob"' not in text


def test_an_expired_or_unknown_cookie_opens_nothing(alice, alice_api):
    raw = login("alice").json()["token"]
    Token.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    expired = cookie_only(raw).get("/stream/v1/stream")
    assert expired.status_code == 401
    assert expired.json() == {"faultstring": "Unauthorized - Token has expired."}
    assert cookie_only("0" * 32).get("/stream/v1/stream").status_code == 401


def test_a_header_token_wins_over_the_cookie_on_streams(alice, bob):
    alice_raw = login("alice").json()["token"]
    bob_raw = login("bob").json()["token"]
    response = cookie_only(bob_raw).get("/stream/v1/stream", HTTP_X_AUTH_TOKEN="0" * 32)
    assert response.status_code == 401  # the first credential present decides
    assert (
        cookie_only(bob_raw).get(f"/stream/v1/stream?x-auth-token={alice_raw}").status_code == 200
    )


def operations():
    """Every operation of the API's OpenAPI document, with a value in each path parameter."""
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            filled = path.replace("{number}", "1")  # a template version's number: digits
            yield method, re.sub(r"\{[^}]+\}", "x", filled), operation


def test_the_cookie_alone_is_refused_on_every_other_route(alice, alice_api):
    raw = login("alice").json()["token"]
    client = cookie_only(raw)
    launch = {"action": "core.local", "parameters": {"cmd": "touch /tmp/csrf"}}
    response = client.post("/api/v1/executions", launch, format="json")
    assert response.status_code == 401
    assert response.json() == {"faultstring": "Unauthorized - One of Token or API key required."}
    checked = 0
    for method, path, operation in operations():
        if operation.get("security") == [] or (method == "get" and path.startswith("/stream/")):
            continue  # public (no credential at all), or a stream: the cookie's one use
        response = getattr(client, method)(path, {}, format="json")
        assert response.status_code == 401, (method, path, response.status_code)
        checked += 1
    assert checked > 40
    assert alice_api.get("/api/v1/executions").json() == []  # nothing was launched


def test_the_cookie_is_refused_by_other_methods_on_stream_paths(alice):
    raw = login("alice").json()["token"]
    assert cookie_only(raw).post("/stream/v1/stream", {}).status_code == 404
