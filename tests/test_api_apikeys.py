"""/api/v1/apikeys: create once-visible keys, mask hashes, owners and admins (notes §2.4)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from st2bridge.auth import credential_hash
from st2bridge.models import ApiKey

pytestmark = pytest.mark.django_db
MASK = "********"


def create_key(api, **body):
    response = api.post("/api/v1/apikeys", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def key_client(raw):
    client = APIClient()
    client.credentials(HTTP_ST2_API_KEY=raw)
    return client


def test_create_returns_raw_key_once_and_stores_only_hash(alice_api):
    created = create_key(alice_api, metadata={"used_by": "ci"})
    raw = created["key"]
    assert len(raw) == 86 and raw.isalnum()
    assert created["user"] == "alice"
    assert created["metadata"] == {"used_by": "ci"}
    assert created["enabled"] is True
    assert created["created_at"].endswith("Z")
    assert "key_hash" not in created
    stored = ApiKey.objects.get(pk=created["id"])
    assert stored.key_hash == credential_hash(raw)
    assert raw not in stored.key_hash
    again = alice_api.get(f"/api/v1/apikeys/{created['id']}").json()
    assert "key" not in again
    assert again["key_hash"] == MASK and again["uid"] == MASK


def test_two_creates_give_different_keys(alice_api):
    assert create_key(alice_api)["key"] != create_key(alice_api)["key"]


def test_get_by_id_or_raw_key(alice_api):
    created = create_key(alice_api)
    by_key = alice_api.get(f"/api/v1/apikeys/{created['key']}")
    assert by_key.status_code == 200
    assert by_key.json()["id"] == created["id"]
    missing = alice_api.get("/api/v1/apikeys/nope")
    assert missing.status_code == 404
    assert "nope" in missing.json()["faultstring"]


def test_list_is_paginated_in_insertion_order(alice_api):
    ids = [create_key(alice_api, metadata={"n": n})["id"] for n in range(5)]
    response = alice_api.get("/api/v1/apikeys")
    assert [item["id"] for item in response.json()] == ids
    assert response["X-Total-Count"] == "5"
    assert response["X-Limit"] == "50"
    page = alice_api.get("/api/v1/apikeys?offset=2&limit=1")
    assert [item["id"] for item in page.json()] == ids[2:3]
    assert page["X-Limit"] == "1"
    assert len(alice_api.get("/api/v1/apikeys?offset=3").json()) == 2


def test_limit_rules(alice_api, admin_api):
    assert alice_api.get("/api/v1/apikeys?limit=1000").status_code == 403
    assert alice_api.get("/api/v1/apikeys?limit=1000").json()["faultstring"] == (
        'Limit "1000" specified, maximum value is "100"'
    )
    assert alice_api.get("/api/v1/apikeys?limit=-1").status_code == 403
    assert alice_api.get("/api/v1/apikeys?limit=0").status_code == 400
    assert alice_api.get("/api/v1/apikeys?limit=-22").json()["faultstring"] == (
        'Limit, "-22" specified, must be a positive number.'
    )
    assert alice_api.get("/api/v1/apikeys?limit=abc").status_code == 400
    assert alice_api.get(f"/api/v1/apikeys?offset={2**31}").status_code == 400
    assert admin_api.get("/api/v1/apikeys?limit=1000").status_code == 200
    all_keys = admin_api.get("/api/v1/apikeys?limit=-1")
    assert all_keys.status_code == 200 and "X-Limit" not in all_keys


def test_users_see_only_their_keys_admins_see_all(alice_api, bob_api, admin_api):
    alice_key = create_key(alice_api)
    bob_key = create_key(bob_api)
    assert [k["id"] for k in alice_api.get("/api/v1/apikeys").json()] == [alice_key["id"]]
    assert alice_api.get(f"/api/v1/apikeys/{bob_key['id']}").status_code == 404
    assert alice_api.get(f"/api/v1/apikeys/{bob_key['key']}").status_code == 404
    assert alice_api.delete(f"/api/v1/apikeys/{bob_key['id']}").status_code == 404
    everyone = admin_api.get("/api/v1/apikeys").json()
    assert {k["user"] for k in everyone} == {"alice", "bob"}
    only_bob = admin_api.get("/api/v1/apikeys?user=bob").json()
    assert [k["id"] for k in only_bob] == [bob_key["id"]]


def test_show_secrets_only_for_admins(alice_api, admin_api):
    created = create_key(alice_api)
    stored_hash = ApiKey.objects.get(pk=created["id"]).key_hash
    mine = alice_api.get("/api/v1/apikeys?show_secrets=true").json()[0]
    assert mine["key_hash"] == MASK
    unmasked = admin_api.get("/api/v1/apikeys?show_secrets=True").json()[0]
    assert unmasked["key_hash"] == stored_hash
    assert unmasked["uid"] == f"api_key:{stored_hash}"


def test_creating_keys_for_others(alice_api, admin_api, bob):
    response = alice_api.post("/api/v1/apikeys", {"user": "bob"}, format="json")
    assert response.status_code == 403
    assert "user" in response.json()["faultstring"]
    assert create_key(admin_api, user="bob")["user"] == "bob"
    unknown = admin_api.post("/api/v1/apikeys", {"user": "ghost"}, format="json")
    assert unknown.status_code == 400 and "ghost" in unknown.json()["faultstring"]


def test_create_rejects_unknown_fields_and_bad_types(alice_api):
    response = alice_api.post("/api/v1/apikeys", {"foo": 1}, format="json")
    assert response.status_code == 400
    assert "'foo' was unexpected" in response.json()["faultstring"]
    response = alice_api.post("/api/v1/apikeys", {"metadata": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["faultstring"].startswith("metadata:")
    assert ApiKey.objects.count() == 0


def test_put_round_trip_with_masked_hash_toggles_enabled(alice_api):
    created = create_key(alice_api)
    url = f"/api/v1/apikeys/{created['id']}"
    body = alice_api.get(url).json()
    body["enabled"] = False
    updated = alice_api.put(url, body, format="json")
    assert updated.status_code == 200
    assert updated.json()["enabled"] is False
    body["enabled"] = True
    body["metadata"] = {"used_by": "nightly"}
    again = alice_api.put(url, body, format="json").json()
    assert again["enabled"] is True and again["metadata"] == {"used_by": "nightly"}
    body["key_hash"] = "1"
    refused = alice_api.put(url, body, format="json")
    assert refused.status_code == 400
    assert refused.json()["faultstring"] == "Update of key_hash is not allowed."


def test_disabled_or_deleted_key_refused_on_next_request(alice_api):
    created = create_key(alice_api)
    client = key_client(created["key"])
    assert client.get("/api/v1/user").status_code == 200
    url = f"/api/v1/apikeys/{created['id']}"
    body = alice_api.get(url).json()
    alice_api.put(url, {**body, "enabled": False}, format="json")
    refused = client.get("/api/v1/user")
    assert refused.status_code == 401
    assert refused.json() == {"faultstring": "Unauthorized - API key is disabled."}
    alice_api.put(url, {**body, "enabled": True}, format="json")
    assert client.get("/api/v1/user").status_code == 200
    assert alice_api.delete(url).status_code == 204
    gone = client.get("/api/v1/user")
    assert gone.status_code == 401
    assert gone.json()["faultstring"].startswith("Unauthorized - ApiKey with key_hash=")
    assert alice_api.delete(url).status_code == 404


def test_delete_by_raw_key(alice_api):
    created = create_key(alice_api)
    assert alice_api.delete(f"/api/v1/apikeys/{created['key']}").status_code == 204
    assert ApiKey.objects.count() == 0


def test_admin_disables_and_deletes_anyones_key(alice_api, admin_api):
    created = create_key(alice_api)
    url = f"/api/v1/apikeys/{created['id']}"
    body = admin_api.get(url).json()
    assert admin_api.put(url, {**body, "enabled": False}, format="json").status_code == 200
    assert key_client(created["key"]).get("/api/v1/user").status_code == 401
    assert admin_api.delete(url).status_code == 204


def test_expiry_and_last_used(alice_api):
    soon = (timezone.now() + timedelta(hours=1)).isoformat()
    created = create_key(alice_api, expires_at=soon)
    shown = alice_api.get(f"/api/v1/apikeys/{created['id']}").json()
    assert shown["expires_at"].endswith("Z")
    assert shown["last_used_at"] is None
    client = key_client(created["key"])
    assert client.get("/api/v1/user").status_code == 200
    first_use = alice_api.get(f"/api/v1/apikeys/{created['id']}").json()["last_used_at"]
    assert first_use is not None
    client.get("/api/v1/user")  # within a minute: not written again
    assert alice_api.get(f"/api/v1/apikeys/{created['id']}").json()["last_used_at"] == first_use
    ApiKey.objects.filter(pk=created["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = client.get("/api/v1/user")
    assert expired.status_code == 401
    assert expired.json()["faultstring"] == "Unauthorized - API key has expired."


def test_expiry_in_the_past_or_garbled_is_refused(alice_api):
    for bad in ("2001-01-01T00:00:00Z", "tomorrow"):
        response = alice_api.post("/api/v1/apikeys", {"expires_at": bad}, format="json")
        assert response.status_code == 400
        assert response.json()["faultstring"].startswith("expires_at:")


def test_import_existing_hash_is_admin_only(alice_api, admin_api):
    body = {"id": "5" * 24, "user": "admin", "key_hash": "ab" * 64}
    assert alice_api.post("/api/v1/apikeys", {"key_hash": "x"}, format="json").status_code == 403
    created = admin_api.post("/api/v1/apikeys", body, format="json").json()
    assert created["id"] == "5" * 24 and created["key"] is None
    assert ApiKey.objects.get(pk="5" * 24).key_hash == "ab" * 64


def test_admin_filters_keys_by_metadata(admin_api, alice_api, bob_api):
    ci = alice_api.post("/api/v1/apikeys", {"metadata": {"name": "ci"}}, format="json").json()
    bob_api.post("/api/v1/apikeys", {"metadata": {"name": "laptop"}}, format="json")
    bob_api.post("/api/v1/apikeys", {"metadata": {"name__contains": "ci"}}, format="json")
    listed = admin_api.get("/api/v1/apikeys?metadata=name:ci").json()
    assert [key["id"] for key in listed] == [ci["id"]]
    assert admin_api.get("/api/v1/apikeys?metadata=name__contains:ci").json()[0]["user"] == "bob"
    assert admin_api.get("/api/v1/apikeys?metadata=name:c").json() == []


def test_metadata_filter_needs_a_name_and_a_value(admin_api):
    response = admin_api.get("/api/v1/apikeys?metadata=justname")
    assert response.status_code == 400
    assert response.json()["faultstring"].startswith("metadata:")


def test_metadata_filter_never_widens_a_users_list(alice_api, bob_api):
    bob_api.post("/api/v1/apikeys", {"metadata": {"name": "ci"}}, format="json")
    assert alice_api.get("/api/v1/apikeys?metadata=name:ci").json() == []
