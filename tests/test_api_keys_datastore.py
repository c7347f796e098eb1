"""/api/v1/keys: scopes, owners, secrets encrypted at rest, ttl and paging (notes §7, §10
items 71-78), with our brief's stricter rules: system writes and system decryption are for
admins only."""

import logging
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from st2bridge import datastore
from st2bridge.models import KeyValuePair

pytestmark = pytest.mark.django_db
KEYS = "/api/v1/keys"
PLAINTEXT = "hunter2-plaintext"


def put(api, key, status=200, query="", **body):
    body.setdefault("name", key)
    response = api.put(f"{KEYS}/{key}{query}", body, format="json")
    assert response.status_code == status, response.json()
    return response.json()


def fault(response, status):
    assert response.status_code == status, response.content
    return response.json()["faultstring"]


def names(response):
    assert response.status_code == 200, response.json()
    return [(item["scope"], item["name"]) for item in response.json()]


def stored(name, scope=KeyValuePair.SYSTEM, owner=""):
    return KeyValuePair.objects.get(scope=scope, owner=owner, name=name)


def fernet(settings):
    return Fernet(settings.ST2_DATASTORE_KEY)


# --- create, read, delete -----------------------------------------------------------------


def test_put_get_delete_system_key(admin_api):
    created = put(admin_api, "k1", value="v1", description="the first")
    assert created == {
        "id": created["id"],
        "uid": "key_value_pair:st2kv.system:k1",
        "name": "k1",
        "value": "v1",
        "secret": False,
        "encrypted": False,
        "scope": "st2kv.system",
        "description": "the first",
    }
    assert len(created["id"]) == 24
    assert admin_api.get(f"{KEYS}/k1").json() == created
    assert admin_api.get(f"{KEYS}/k1/").json() == created
    assert admin_api.delete(f"{KEYS}/k1").status_code == 204
    assert fault(admin_api.get(f"{KEYS}/k1"), 404) == (
        "KeyValuePair with name: k1 and scope: st2kv.system not found in db."
    )


def test_unknown_keys_are_404(admin_api):
    assert fault(admin_api.get(f"{KEYS}/1"), 404) == (
        "KeyValuePair with name: 1 and scope: st2kv.system not found in db."
    )
    assert fault(admin_api.delete(f"{KEYS}/nope"), 404) == (
        "KeyValuePair with name: nope and scope: st2kv.system not found in db."
    )
    assert fault(admin_api.delete(f"{KEYS}/nope?scope=user"), 404) == (
        "KeyValuePair with name: nope and scope: st2kv.user not found in db."
    )


def test_cli_set_body_path_name_wins_and_put_replaces(admin_api):
    # `st2 key set k v` sends user: null and the short scope.
    first = put(admin_api, "k", name="other", value="v", scope="system", user=None, ttl=60)
    assert first["name"] == "k" and "expire_timestamp" in first
    assert not KeyValuePair.objects.filter(name="other").exists()
    second = put(admin_api, "k", value="v2", id=first["id"], uid=first["uid"])
    assert second["id"] == first["id"]
    assert second["value"] == "v2"
    assert "expire_timestamp" not in second  # PUT replaces the whole item
    assert KeyValuePair.objects.count() == 1


def test_names_with_dots_colons_and_unicode(admin_api):
    for name in ("a.b.c", "x:y:z", "naïve.ключ"):
        put(admin_api, name, value="v")
        assert admin_api.get(f"{KEYS}/{name}").json()["name"] == name
    assert admin_api.get(f"{KEYS}/a/b").status_code == 404


def test_anonymous_is_401(anon_api):
    assert anon_api.get(KEYS).status_code == 401
    assert anon_api.put(f"{KEYS}/k", {"name": "k", "value": "v"}, format="json").status_code == 401


# --- body validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, message",
    [
        ({"name": "k"}, "'value' is a required property"),
        ({"value": "v"}, "'name' is a required property"),
        ({"name": "k", "value": 5}, "value: is not of type 'string'"),
        ({"name": "k", "value": "v", "ttl": 0}, "ttl: 0 is less than the minimum of 1"),
        ({"name": "k", "value": "v", "ttl": "9"}, "ttl: '9' is not of type 'integer'"),
        ({"name": "k", "value": "v", "secret": "yes"}, "secret: 'yes' is not of type 'boolean'"),
        (
            {"name": "k", "value": "v", "foo": 1},
            "Additional properties are not allowed ('foo' was unexpected)",
        ),
    ],
)
def test_put_body_is_validated(admin_api, body, message):
    assert fault(admin_api.put(f"{KEYS}/k", body, format="json"), 400) == message


def test_errors_never_echo_a_secret_value(admin_api):
    for body in (
        {"name": "k", "value": PLAINTEXT, "secret": True, "ttl": -5},
        {"name": "k", "value": PLAINTEXT, "secret": True, "bogus": True},
        {"name": "k", "value": [PLAINTEXT], "secret": True},
        {"name": "k", "value": PLAINTEXT, "encrypted": True},
    ):
        message = fault(admin_api.put(f"{KEYS}/k", body, format="json"), 400)
        assert PLAINTEXT not in message


def test_name_too_long_is_400(admin_api):
    name = "n" * 501
    response = admin_api.put(f"{KEYS}/{name}", {"name": name, "value": "v"}, format="json")
    assert fault(response, 400) == "name: longer than 500 characters"


# --- scopes -------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["system", "st2kv.system", "user", "st2kv.user"])
def test_every_scope_spelling_works(admin_api, scope):
    full = scope if scope.startswith("st2kv.") else f"st2kv.{scope}"
    assert put(admin_api, "k", value="v", scope=scope)["scope"] == full
    assert admin_api.get(f"{KEYS}/k?scope={scope}").json()["scope"] == full
    assert names(admin_api.get(f"{KEYS}?scope={scope}")) == [(full, "k")]
    assert admin_api.delete(f"{KEYS}/k?scope={scope}").status_code == 204


def test_invalid_scope_is_400(admin_api):
    expected = (
        "Scope nope is not in allowed scopes list: "
        "['system', 'user', 'st2kv.system', 'st2kv.user']."
    )
    assert fault(admin_api.get(f"{KEYS}?scope=nope"), 400) == expected
    assert fault(admin_api.get(f"{KEYS}/k?scope=nope"), 400) == expected
    assert fault(admin_api.delete(f"{KEYS}/k?scope=nope"), 400) == expected
    response = admin_api.put(f"{KEYS}/k", {"name": "k", "value": "v", "scope": "nope"}, "json")
    assert fault(response, 400) == expected


def test_body_scope_overrides_query_scope(alice_api):
    item = put(alice_api, "k", query="?scope=system", value="v", scope="user")
    assert item["scope"] == "st2kv.user"


def test_system_and_user_keys_with_same_name_coexist(admin_api, alice_api):
    put(admin_api, "keystone_version", value="system-v")
    put(alice_api, "keystone_version", value="alice-v", scope="user")
    assert alice_api.get(f"{KEYS}/keystone_version").json()["value"] == "system-v"
    mine = alice_api.get(f"{KEYS}/keystone_version?scope=user").json()
    assert mine["value"] == "alice-v"
    assert mine["user"] == "alice"
    assert mine["uid"] == "key_value_pair:st2kv.user:alice:keystone_version"


# --- who may do what ----------------------------------------------------------------------


def test_system_writes_are_for_admins_reads_for_everyone(admin_api, alice_api):
    message = "Administrator access required to change system-scoped keys"
    response = alice_api.put(f"{KEYS}/k", {"name": "k", "value": "v"}, format="json")
    assert fault(response, 403) == message
    put(admin_api, "k", value="v")
    assert alice_api.get(f"{KEYS}/k").json()["value"] == "v"
    assert names(alice_api.get(KEYS)) == [("st2kv.system", "k")]
    assert fault(alice_api.delete(f"{KEYS}/k"), 403) == message
    assert KeyValuePair.objects.filter(name="k").exists()


def test_users_see_and_change_only_their_own_keys(alice_api, bob_api):
    put(alice_api, "token", value="alice's", scope="user")
    assert fault(bob_api.get(f"{KEYS}/token?scope=user"), 404) == (
        "KeyValuePair with name: token and scope: st2kv.user not found in db."
    )
    assert names(bob_api.get(f"{KEYS}?scope=user")) == []
    assert bob_api.delete(f"{KEYS}/token?scope=user").status_code == 404
    put(bob_api, "token", value="bob's", scope="user")
    assert alice_api.get(f"{KEYS}/token?scope=user").json()["value"] == "alice's"
    assert bob_api.get(f"{KEYS}/token?scope=user").json()["value"] == "bob's"
    assert alice_api.delete(f"{KEYS}/token?scope=user").status_code == 204
    assert bob_api.get(f"{KEYS}/token?scope=user").status_code == 200


def test_user_parameter_is_for_admins(alice_api, bob_api):
    put(alice_api, "mine", value="v", scope="user")
    message = '"user" attribute can only be provided by admins'
    assert fault(bob_api.get(f"{KEYS}?user=alice"), 403) == message
    assert fault(bob_api.get(f"{KEYS}/mine?user=alice"), 403) == message
    assert fault(bob_api.delete(f"{KEYS}/mine?user=alice"), 403) == message
    body = {"name": "x", "value": "v", "scope": "user", "user": "alice"}
    assert fault(bob_api.put(f"{KEYS}/x", body, format="json"), 403) == message
    # Naming yourself is fine.
    assert names(alice_api.get(f"{KEYS}?user=alice")) == [("st2kv.user", "mine")]


def test_admin_acts_on_another_users_keys(admin_api, alice_api):
    item = put(admin_api, "granted", value="v", scope="user", user="alice")
    assert item["user"] == "alice"
    assert alice_api.get(f"{KEYS}/granted?scope=user").status_code == 200
    # ?user= implies the user scope.
    assert admin_api.get(f"{KEYS}/granted?user=alice").json()["user"] == "alice"
    assert names(admin_api.get(f"{KEYS}?user=alice")) == [("st2kv.user", "granted")]
    assert admin_api.get(f"{KEYS}/granted?scope=user").status_code == 404  # admin's own
    assert admin_api.delete(f"{KEYS}/granted?user=alice").status_code == 204
    assert alice_api.get(f"{KEYS}/granted?scope=user").status_code == 404


def test_scope_all_lists_system_then_own_user_keys(admin_api, alice_api, bob_api):
    put(alice_api, "u1", value="v", scope="user")
    put(admin_api, "s1", value="v")
    put(bob_api, "u1", value="v", scope="user")
    put(alice_api, "u2", value="v", scope="user")
    put(admin_api, "s2", value="v")
    response = alice_api.get(f"{KEYS}?scope=all")
    assert names(response) == [
        ("st2kv.system", "s1"),
        ("st2kv.system", "s2"),
        ("st2kv.user", "u1"),
        ("st2kv.user", "u2"),
    ]
    assert {item.get("user") for item in response.json()} == {None, "alice"}
    assert names(alice_api.get(f"{KEYS}?scope=all&prefix=bob:")) == []
    assert names(alice_api.get(f"{KEYS}?scope=user&prefix=alice:")) == []


def test_prefix_filter(admin_api):
    for name in ("keystone_endpoint", "keystone_version", "other"):
        put(admin_api, name, value="v")
    assert len(admin_api.get(f"{KEYS}?prefix=keystone").json()) == 2
    assert names(admin_api.get(f"{KEYS}?prefix=keystone_endpoint")) == [
        ("st2kv.system", "keystone_endpoint")
    ]
    assert admin_api.get(f"{KEYS}?prefix=something").json() == []
    assert admin_api.get(f"{KEYS}?prefix=Keystone").json() == []  # case-sensitive
    assert names(admin_api.get(f"{KEYS}?name=other")) == [("st2kv.system", "other")]


# --- paging -------------------------------------------------------------------------------


def test_list_is_paged_in_insertion_order_without_paging_headers(admin_api, alice_api):
    for name in ("c", "a", "b"):
        put(admin_api, name, value="v")
    response = alice_api.get(f"{KEYS}/?decrypt=false&scope=all&limit=50")
    assert [item["name"] for item in response.json()] == ["c", "a", "b"]
    # A bare list, as StackStorm's /keys answers: no X-Total-Count, no X-Limit.
    assert "X-Total-Count" not in response and "X-Limit" not in response
    assert "X-Limit" not in alice_api.get(KEYS)
    page = alice_api.get(f"{KEYS}?offset=1&limit=1")
    assert [item["name"] for item in page.json()] == ["a"]
    assert "X-Total-Count" not in page
    assert alice_api.get(f"{KEYS}?limit=0").status_code == 400
    assert alice_api.get(f"{KEYS}?limit=1000").status_code == 403


def test_list_sorted_by_name_or_scope_as_asked(admin_api, alice_api):
    for name in ("c", "a", "b"):
        put(admin_api, name, value="v")
    put(alice_api, "mine", value="v", scope="user")
    assert names(alice_api.get(f"{KEYS}?scope=all&sort=name")) == [
        ("st2kv.system", "a"), ("st2kv.system", "b"), ("st2kv.system", "c"),
        ("st2kv.user", "mine"),
    ]  # fmt: skip
    assert names(alice_api.get(f"{KEYS}?scope=all&sort=-scope,-name"))[:2] == [
        ("st2kv.user", "mine"), ("st2kv.system", "c"),
    ]  # fmt: skip


# --- ttl ----------------------------------------------------------------------------------


def test_ttl_sets_expire_timestamp(admin_api):
    before = timezone.now()
    item = put(admin_api, "short", value="v", ttl=120)
    expires = parse_datetime(item["expire_timestamp"])
    assert item["expire_timestamp"].endswith("Z")
    assert before + timedelta(seconds=119) < expires < timezone.now() + timedelta(seconds=121)
    assert admin_api.get(f"{KEYS}/short").json()["expire_timestamp"] == item["expire_timestamp"]


def test_expired_items_disappear(admin_api, alice_api):
    put(admin_api, "gone", value="v", ttl=60)
    put(alice_api, "gone", value="v", scope="user", ttl=60)
    put(admin_api, "kept", value="v", ttl=60)
    past = timezone.now() - timedelta(seconds=1)
    KeyValuePair.objects.filter(name="gone").update(expire_timestamp=past)
    assert admin_api.get(f"{KEYS}/gone").status_code == 404
    assert alice_api.get(f"{KEYS}/gone?scope=user").status_code == 404
    assert names(alice_api.get(f"{KEYS}?scope=all")) == [("st2kv.system", "kept")]
    assert len(alice_api.get(KEYS).json()) == 1
    assert admin_api.delete(f"{KEYS}/gone").status_code == 404
    # The next write deletes expired rows; a new PUT of the name starts afresh.
    assert not KeyValuePair.objects.filter(name="gone").exists()
    assert "expire_timestamp" not in put(admin_api, "gone", value="new")


# --- secrets ------------------------------------------------------------------------------


def test_secret_is_encrypted_at_rest_and_masked(admin_api, settings):
    item = put(admin_api, "pw", value=PLAINTEXT, secret=True)
    row = stored("pw")
    assert row.value != PLAINTEXT and PLAINTEXT not in row.value
    assert fernet(settings).decrypt(row.value.encode()).decode() == PLAINTEXT
    assert item["value"] == row.value
    assert item["secret"] is True and item["encrypted"] is True
    shown = admin_api.get(f"{KEYS}/pw").json()
    assert shown["value"] == row.value and shown["encrypted"] is True


def test_admin_decrypts_system_secrets(admin_api):
    put(admin_api, "pw", value=PLAINTEXT, secret=True)
    put(admin_api, "plain", value="open")
    one = admin_api.get(f"{KEYS}/pw?decrypt=true").json()
    assert one["value"] == PLAINTEXT
    assert one["secret"] is True and one["encrypted"] is False
    listed = admin_api.get(f"{KEYS}?decrypt=true").json()
    assert [(item["value"], item["encrypted"]) for item in listed] == [
        (PLAINTEXT, False),
        ("open", False),
    ]


def test_non_admins_never_decrypt_system_secrets(admin_api, alice_api):
    put(admin_api, "pw", value=PLAINTEXT, secret=True)
    message = "Decrypt option requires administrator access"
    assert fault(alice_api.get(f"{KEYS}/pw?decrypt=true"), 403) == message
    assert fault(alice_api.get(f"{KEYS}?decrypt=true"), 403) == message
    assert fault(alice_api.get(f"{KEYS}?scope=all&decrypt=true"), 403) == message
    shown = alice_api.get(f"{KEYS}/pw").json()
    assert shown["value"] == stored("pw").value and shown["encrypted"] is True


def test_owner_and_admin_decrypt_user_secrets(admin_api, alice_api):
    put(alice_api, "pw", value=PLAINTEXT, secret=True, scope="user")
    row = stored("pw", KeyValuePair.USER, "alice")
    assert PLAINTEXT not in row.value
    mine = alice_api.get(f"{KEYS}/pw?scope=user&decrypt=true").json()
    assert mine["value"] == PLAINTEXT and mine["encrypted"] is False
    listed = alice_api.get(f"{KEYS}?scope=user&decrypt=true").json()
    assert listed[0]["value"] == PLAINTEXT
    as_admin = admin_api.get(f"{KEYS}/pw?user=alice&decrypt=true").json()
    assert as_admin["value"] == PLAINTEXT


def test_key_is_read_from_settings_at_call_time(admin_api, settings):
    settings.ST2_DATASTORE_KEY = Fernet.generate_key().decode()
    put(admin_api, "pw", value=PLAINTEXT, secret=True)
    assert fernet(settings).decrypt(stored("pw").value.encode()).decode() == PLAINTEXT
    settings.ST2_DATASTORE_KEY = Fernet.generate_key().decode()
    message = fault(admin_api.get(f"{KEYS}/pw?decrypt=true"), 500)
    assert "datastore key has changed" in message and PLAINTEXT not in message


def test_pre_encrypted_value_is_stored_verbatim(admin_api, settings):
    token = fernet(settings).encrypt(PLAINTEXT.encode()).decode()
    for name, extra in (("enc1", {}), ("enc2", {"secret": True})):
        item = put(admin_api, name, value=token, encrypted=True, **extra)
        assert item["value"] == token
        assert item["secret"] is True and item["encrypted"] is True
        assert stored(name).value == token
        assert admin_api.get(f"{KEYS}/{name}?decrypt=true").json()["value"] == PLAINTEXT


def test_pre_encrypted_value_must_decrypt_with_our_key(admin_api):
    other_key = Fernet(Fernet.generate_key()).encrypt(PLAINTEXT.encode()).decode()
    for value in (other_key, "corrupted", other_key[:-4]):
        body = {"name": "secret_key1", "value": value, "encrypted": True}
        response = admin_api.put(f"{KEYS}/secret_key1", body, format="json")
        assert fault(response, 400) == (
            'Failed to verify the integrity of the provided value for key "secret_key1".'
        )
    assert not KeyValuePair.objects.exists()


def test_pre_encrypted_value_is_for_admins(alice_api, settings):
    token = fernet(settings).encrypt(b"x").decode()
    body = {"name": "k", "value": token, "encrypted": True, "scope": "user"}
    assert fault(alice_api.put(f"{KEYS}/k", body, format="json"), 403) == (
        "Pre-encrypted option requires administrator access"
    )


def test_plaintext_secrets_are_never_logged(admin_api, caplog):
    caplog.set_level(logging.DEBUG)
    put(admin_api, "pw", value=PLAINTEXT, secret=True)
    admin_api.get(f"{KEYS}/pw?decrypt=true")
    admin_api.put(f"{KEYS}/pw", {"name": "pw", "value": PLAINTEXT, "ttl": 0}, format="json")
    assert PLAINTEXT not in caplog.text


# --- the read function for template rendering ---------------------------------------------


def test_get_value_for_rendering(admin_api, alice_api):
    put(admin_api, "host", value="db.example")
    put(admin_api, "pw", value=PLAINTEXT, secret=True)
    put(alice_api, "host", value="alice.example", scope="user")
    assert datastore.get_value("system", "host") == "db.example"
    assert datastore.get_value("st2kv.user", "host", owner="alice") == "alice.example"
    assert datastore.get_value("user", "host", owner="bob") is None
    assert datastore.get_value("system", "pw") == stored("pw").value
    assert datastore.get_value("system", "pw", decrypt=True) == PLAINTEXT
    assert datastore.get_value("system", "missing") is None
    KeyValuePair.objects.filter(name="host", scope="st2kv.system").update(
        expire_timestamp=timezone.now() - timedelta(seconds=1)
    )
    assert datastore.get_value("system", "host") is None
    with pytest.raises(ValueError):
        datastore.get_value("user", "host")
