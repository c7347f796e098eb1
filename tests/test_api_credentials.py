"""Credentials on every /api/v1 request (notes §2.1) and GET /api/v1/user."""

import pytest
from rest_framework.test import APIClient

from .conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_token(alice):
    return login("alice").json()["token"]


@pytest.fixture
def alice_key(alice_api):
    return alice_api.post("/api/v1/apikeys", {}, format="json").json()["key"]


def test_missing_credentials(anon_api):
    response = anon_api.get("/api/v1/user")
    assert response.status_code == 401
    assert response.json() == {"faultstring": "Unauthorized - One of Token or API key required."}


def test_unknown_token(anon_api):
    response = anon_api.get("/api/v1/user", HTTP_X_AUTH_TOKEN="0" * 32)
    assert response.status_code == 401
    assert response.json() == {"faultstring": "Unauthorized"}


def test_token_header_whoami(anon_api, alice_token):
    body = anon_api.get("/api/v1/user", HTTP_X_AUTH_TOKEN=alice_token).json()
    assert body["username"] == "alice"
    assert body["authentication"]["method"] == "authentication token"
    assert body["authentication"]["location"] == "header"
    assert body["authentication"]["token_expire"].endswith("Z")
    assert body["rbac"] == {"enabled": False, "roles": [], "is_admin": False}


def test_token_query_parameter(anon_api, alice_token):
    body = anon_api.get(f"/api/v1/user?x-auth-token={alice_token}").json()
    assert body["authentication"]["location"] == "query"


def test_api_key_header_and_query(anon_api, alice_key):
    by_header = anon_api.get("/api/v1/user", HTTP_ST2_API_KEY=alice_key).json()
    assert by_header["username"] == "alice"
    assert by_header["authentication"] == {"method": "API key", "location": "header"}
    by_query = anon_api.get(f"/api/v1/user?st2-api-key={alice_key}").json()
    assert by_query["authentication"]["location"] == "query"


def test_token_header_wins_over_api_key(anon_api, alice_token, bob_api):
    bob_key = bob_api.post("/api/v1/apikeys", {}, format="json").json()["key"]
    response = anon_api.get("/api/v1/user", HTTP_X_AUTH_TOKEN=alice_token, HTTP_ST2_API_KEY=bob_key)
    assert response.status_code == 200
    assert response.json()["username"] == "alice"


def test_first_credential_present_decides(anon_api, alice_key):
    """A bad token header is refused even when a good key follows it."""
    response = anon_api.get("/api/v1/user", HTTP_X_AUTH_TOKEN="bad", HTTP_ST2_API_KEY=alice_key)
    assert response.status_code == 401


def test_deactivated_user_refused_on_next_request(alice, alice_token, alice_key):
    token_client, key_client = APIClient(), APIClient()
    token_client.credentials(HTTP_X_AUTH_TOKEN=alice_token)
    key_client.credentials(HTTP_ST2_API_KEY=alice_key)
    assert token_client.get("/api/v1/user").status_code == 200
    alice.is_active = False
    alice.save()
    assert token_client.get("/api/v1/user").status_code == 401
    assert key_client.get("/api/v1/user").status_code == 401


def test_admin_is_reported_as_admin(admin_api):
    body = admin_api.get("/api/v1/user").json()
    assert body["rbac"]["is_admin"] is True


def test_api_root_needs_credentials(anon_api, alice_api):
    assert anon_api.get("/api/v1").status_code == 401
    assert "version" in alice_api.get("/api/v1/").json()
