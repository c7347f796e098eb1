"""POST /auth/v1/tokens and /tokens/validate, and credentials on /api/v1."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from st2bridge.models import Token

from .conftest import PASSWORD, basic, login

pytestmark = pytest.mark.django_db


def parse_z(text):
    assert text.endswith("Z")
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def test_token_created_with_default_ttl(alice):
    response = login("alice")
    assert response.status_code == 201
    body = response.json()
    assert body["user"] == "alice"
    assert len(body["token"]) == 32
    assert len(body["id"]) == 24
    assert body["metadata"] == {}
    expiry = parse_z(body["expiry"])
    assert abs((expiry - timezone.now()) - timedelta(days=1)) < timedelta(seconds=30)
    assert response["X-API-URL"].endswith("/api/v1")


def test_token_stored_only_as_keyed_hash(alice):
    raw = login("alice").json()["token"]
    stored = Token.objects.get()
    assert raw not in stored.token_hash
    assert len(stored.token_hash) == 64


def test_token_ttl_honoured_and_capped(alice, settings):
    assert login("alice", ttl=60).status_code == 201
    short = parse_z(login("alice", ttl=60).json()["expiry"])
    assert abs((short - timezone.now()) - timedelta(seconds=60)) < timedelta(seconds=10)
    too_long = login("alice", ttl=settings.ST2_TOKEN_TTL + 60)
    assert too_long.status_code == 400
    assert too_long.json()["faultstring"] == (
        f"TTL specified {settings.ST2_TOKEN_TTL + 60} is greater than max allowed "
        f"{settings.ST2_TOKEN_TTL}."
    )
    for bad in (0, -1, "soon"):
        response = login("alice", ttl=bad)
        assert response.status_code == 400
        assert "ttl" in response.json()["faultstring"]


def test_text_plain_empty_body_accepted(alice):
    response = APIClient().post(
        "/auth/v1/tokens", data="", content_type="text/plain", HTTP_AUTHORIZATION=basic("alice")
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    "header",
    [None, "Bearer abc", "Basic !!!notbase64", basic("alice", "wrong"), basic("nobody")],
)
def test_bad_credentials_are_401(alice, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = APIClient().post("/auth/v1/tokens", {}, format="json", **extra)
    assert response.status_code == 401
    assert response.json() == {"faultstring": "Invalid or missing credentials"}


def test_inactive_user_gets_no_token(alice):
    alice.is_active = False
    alice.save()
    assert login("alice").status_code == 401


def test_password_guessing_throttled_per_username(alice):
    for _ in range(5):
        assert login("alice", "guess").status_code == 401
    refused = login("alice", PASSWORD)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "faultstring" in refused.json()
    assert login("bob-does-not-exist", "x").status_code == 401  # other names unaffected


def test_throttle_window_ends(alice, settings):
    settings.ST2_LOGIN_FAILURE_WINDOW = 1
    for _ in range(5):
        login("alice", "guess")
    assert login("alice").status_code == 429
    from st2bridge.models import LoginFailure

    LoginFailure.objects.update(at=timezone.now() - timedelta(seconds=2))
    assert login("alice").status_code == 201


def test_password_guessing_throttled_per_address(alice, settings):
    settings.ST2_LOGIN_FAILURES_PER_ADDRESS = 3
    for name in ("u1", "u2", "u3"):
        assert login(name, "x").status_code == 401
    assert login("alice").status_code == 429


def test_validate_requires_auth_and_reports_validity(alice, alice_api):
    token = login("alice").json()["token"]
    assert (
        APIClient().post("/auth/v1/tokens/validate", {"token": token}, format="json").status_code
        == 401
    )
    assert alice_api.post("/auth/v1/tokens/validate", {"token": token}, format="json").json() == {
        "valid": True
    }
    assert alice_api.post("/auth/v1/tokens/validate", {"token": "nope"}, format="json").json() == {
        "valid": False
    }
    response = alice_api.post("/auth/v1/tokens/validate", {}, format="json")
    assert response.status_code == 400
    assert response.json()["faultstring"] == "Token is not provided."


def test_expired_token_refused_and_invalid(alice, alice_api):
    raw = login("alice").json()["token"]
    from st2bridge.auth import credential_hash

    Token.objects.filter(token_hash=credential_hash(raw)).update(
        expiry=timezone.now() - timedelta(seconds=1)
    )
    client = APIClient()
    client.credentials(HTTP_X_AUTH_TOKEN=raw)
    response = client.get("/api/v1/user")
    assert response.status_code == 401
    assert response.json() == {"faultstring": "Unauthorized - Token has expired."}
    assert alice_api.post("/auth/v1/tokens/validate", {"token": raw}, format="json").json() == {
        "valid": False
    }


def test_throttle_counts_the_forwarded_client_behind_a_trusted_proxy(alice, settings):
    settings.ST2_LOGIN_FAILURES_PER_ADDRESS = 2
    settings.PORTAL_TRUSTED_PROXIES = ["10.0.0.0/24"]
    client = APIClient(REMOTE_ADDR="10.0.0.2")
    for name in ("u1", "u2"):
        response = client.post(
            "/auth/v1/tokens",
            {},
            format="json",
            HTTP_AUTHORIZATION=basic(name, "x"),
            HTTP_X_FORWARDED_FOR="198.51.100.7",
        )
        assert response.status_code == 401
    other_person = client.post(
        "/auth/v1/tokens",
        {},
        format="json",
        HTTP_AUTHORIZATION=basic("alice"),
        HTTP_X_FORWARDED_FOR="198.51.100.8",
    )
    assert other_person.status_code == 201  # the portal's other users are not locked out
    same_person = client.post(
        "/auth/v1/tokens",
        {},
        format="json",
        HTTP_AUTHORIZATION=basic("alice"),
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert same_person.status_code == 429


def test_forwarded_header_from_an_untrusted_peer_is_ignored(alice, settings):
    settings.ST2_LOGIN_FAILURES_PER_ADDRESS = 2
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    for n in range(2):
        client.post(
            "/auth/v1/tokens",
            {},
            format="json",
            HTTP_AUTHORIZATION=basic(f"u{n}", "x"),
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )
    response = client.post("/auth/v1/tokens", {}, format="json", HTTP_AUTHORIZATION=basic("alice"))
    assert response.status_code == 429


def test_revoke_ends_the_token_given_and_no_other(alice):
    kept, ended = login("alice").json()["token"], login("alice").json()["token"]
    anyone = APIClient()
    response = anyone.post("/auth/v1/tokens/revoke", {"token": ended}, format="json")
    assert response.status_code == 204
    assert anyone.get("/api/v1/user", HTTP_X_AUTH_TOKEN=ended).status_code == 401
    assert anyone.get("/api/v1/user", HTTP_X_AUTH_TOKEN=kept).status_code == 200
    again = anyone.post("/auth/v1/tokens/revoke", {"token": ended}, format="json")
    assert again.status_code == 401  # the token is the credential: it is gone
    missing = anyone.post("/auth/v1/tokens/revoke", {}, format="json")
    assert missing.status_code == 400 and "token" in missing.json()["faultstring"]


def test_extensions_need_credentials_and_say_what_is_offered(alice, alice_api):
    assert APIClient().get("/api/v1/extensions").status_code == 401
    offered = alice_api.get("/api/v1/extensions").json()
    assert offered["server"] == "st2bridge"
    assert offered["apikey_expiry"] and offered["apikey_metadata_filter"]
    assert offered["token_revocation"] and offered["teams_admin_path"] == "/admin/auth/group/"
