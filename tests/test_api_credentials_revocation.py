"""A credential that stops being valid is refused on the very next request: nothing about a
token or an API key is cached between requests (st2bridge/auth.py), in a web process or
across them. Each test uses the credential first, so that a cache, if one were added, would
hold it."""

from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from st2bridge.models import ApiKey, Token

from .conftest import login
from .live_site import ADMIN, LiveSite

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_token(alice):
    return login("alice").json()["token"]


@pytest.fixture
def alice_key(alice_api):
    return alice_api.post("/api/v1/apikeys", {}, format="json").json()


def by_token(raw):
    client = APIClient()
    client.credentials(HTTP_X_AUTH_TOKEN=raw)
    return client


def by_key(raw):
    client = APIClient()
    client.credentials(HTTP_ST2_API_KEY=raw)
    return client


def refused(client, faultstring):
    response = client.get("/api/v1/user")
    assert response.status_code == 401, response.content
    assert response.json() == {"faultstring": faultstring}
    return True


def test_revoked_token_is_refused_on_the_next_request(alice_token):
    client = by_token(alice_token)
    assert client.get("/api/v1/user").status_code == 200
    revoked = APIClient().post("/auth/v1/tokens/revoke", {"token": alice_token}, format="json")
    assert revoked.status_code == 204
    assert refused(client, "Unauthorized")


def test_expired_token_is_refused_on_the_next_request(alice_token):
    client = by_token(alice_token)
    assert client.get("/api/v1/user").status_code == 200
    Token.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    assert refused(client, "Unauthorized - Token has expired.")


def test_disabled_api_key_is_refused_on_the_next_request(alice_api, alice_key):
    client = by_key(alice_key["key"])
    assert client.get("/api/v1/user").status_code == 200
    changed = alice_api.put(f"/api/v1/apikeys/{alice_key['id']}", {"enabled": False}, format="json")
    assert changed.status_code == 200, changed.content
    assert refused(client, "Unauthorized - API key is disabled.")


def test_deleted_api_key_is_refused_on_the_next_request(alice_api, alice_key):
    client = by_key(alice_key["key"])
    assert client.get("/api/v1/user").status_code == 200
    assert alice_api.delete(f"/api/v1/apikeys/{alice_key['id']}").status_code == 204
    response = client.get("/api/v1/user")
    assert response.status_code == 401
    assert response.json()["faultstring"].startswith("Unauthorized - ApiKey with key_hash=")


def test_expired_api_key_is_refused_on_the_next_request(alice_key):
    client = by_key(alice_key["key"])
    assert client.get("/api/v1/user").status_code == 200
    ApiKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert refused(client, "Unauthorized - API key has expired.")


def test_revoke_user_cuts_every_credential_on_the_next_request(alice_token, alice_key):
    token_client, key_client = by_token(alice_token), by_key(alice_key["key"])
    assert token_client.get("/api/v1/user").status_code == 200
    assert key_client.get("/api/v1/user").status_code == 200
    call_command("revoke_user", "alice", stdout=None)
    assert refused(token_client, "Unauthorized")
    assert refused(key_client, "Unauthorized - API key is disabled.")


def test_revocation_reaches_every_web_process_at_once():
    """Under gunicorn with two processes of 16 threads (as `make run`), a token and a key
    used from many connections, so that both processes have checked them, are refused on
    every connection right after `manage.py revoke_user` (another process, no HTTP)."""
    with LiveSite(WEB_CONCURRENCY="2") as site:
        token = site.token()
        created = requests.post(
            f"{site.url}/api/v1/apikeys", json={}, headers={"X-Auth-Token": token}, timeout=10
        )
        key = created.json()["key"]
        sessions = [requests.Session() for _ in range(12)]
        for session in sessions:
            for headers in ({"X-Auth-Token": token}, {"St2-Api-Key": key}):
                for _ in range(3):
                    answered = session.get(f"{site.url}/api/v1/user", headers=headers, timeout=10)
                    assert answered.status_code == 200
        site.manage("revoke_user", ADMIN)
        fresh = [requests.Session() for _ in range(12)]
        for session in sessions + fresh:
            for headers in ({"X-Auth-Token": token}, {"St2-Api-Key": key}):
                answered = session.get(f"{site.url}/api/v1/user", headers=headers, timeout=10)
                assert answered.status_code == 401, answered.text
