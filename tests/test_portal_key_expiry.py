"""Keys near or past their expiry (issue 18) on the keys page, everyone's keys and the
dashboard, with a badge with the relative time; and the server events' payloads in the rule
editor. Through Django's test client, the portal reaching a live server's API over HTTP."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.rule_editor import payload_fields
from st2bridge.models import ApiKey

from .portal_support import api_as

pytestmark = pytest.mark.django_db(transaction=True)


def keys_of(username, **expiring):
    """{name: key} for keys of `username` expiring in the given timedeltas (negative: expired
    that long ago; None: never)."""
    api = api_as(username)
    made = {}
    for name, delta in expiring.items():
        moment = timezone.now() + timedelta(days=30)
        made[name] = api.create_api_key({"name": name}, moment.isoformat())
        expires = None if delta is None else timezone.now() + delta
        ApiKey.objects.filter(pk=made[name]["id"]).update(expires_at=expires)
    return made


def row(page, key_id):
    found = re.search(rf'<tr id="key-{key_id}">.*?</tr>', page, re.S)
    assert found, key_id
    return found[0]


def section(page, title_id):
    found = re.search(rf'<section[^>]*aria-labelledby="{title_id}".*?</section>', page, re.S)
    assert found, title_id
    return found[0]


EXPIRIES = {
    "soon": timedelta(days=3, hours=1),
    "later": timedelta(days=8),
    "gone": -timedelta(days=2, hours=1),
    "forever": None,
}


def test_the_keys_page_flags_keys_expiring_within_7_days_and_expired_ones(alice_browser, portal):
    keys = keys_of("alice", **EXPIRIES)
    page = alice_browser.get("/apikeys").content.decode()
    soon = row(page, keys["soon"]["id"])
    assert re.search(r'badge text-bg-warning expiry">expires <time [^>]*>in 3\xa0days</time>', soon)
    assert "badge text-bg-success" in soon  # still enabled
    gone = row(page, keys["gone"]["id"])
    assert re.search(r'badge text-bg-danger expiry">expired <time [^>]*>2\xa0days ago</time>', gone)
    assert '<span class="badge text-bg-danger">expired</span>' in gone
    assert "enabled</span>" not in gone
    for unflagged in ("later", "forever"):
        assert "expiry" not in row(page, keys[unflagged]["id"])


def test_everyones_keys_flags_them_too(admin_browser, alice, bob, portal):
    alices = keys_of("alice", soon=timedelta(hours=20, minutes=30))
    bobs = keys_of("bob", gone=-timedelta(minutes=5))
    page = admin_browser.get("/manage/apikeys").content.decode()
    assert "expires <time" in row(page, alices["soon"]["id"])
    assert "in 20\xa0hours</time>" in row(page, alices["soon"]["id"])
    assert "expired <time" in row(page, bobs["gone"]["id"])


def test_the_dashboard_lists_my_keys_expiring_or_just_expired_with_badges(
    alice_browser, bob, portal
):
    keys = keys_of("alice", long_gone=-timedelta(days=9), **EXPIRIES)
    keys_of("bob", bobs=timedelta(days=1))
    expiring = section(alice_browser.get("/").content.decode(), "keys-title")
    assert "<span>soon</span>" in expiring and "expires <time" in expiring
    assert "<span>gone</span>" in expiring and "expired <time" in expiring
    for absent in ("later", "forever", "long_gone", "bobs"):
        assert f"<span>{absent}</span>" not in expiring
    assert expiring.index("<span>gone</span>") < expiring.index("<span>soon</span>")
    assert keys["soon"]["id"] not in expiring  # named, not the id


def test_the_dashboard_says_when_nothing_expires(alice_browser):
    keys_of("alice", later=timedelta(days=8))
    expiring = section(alice_browser.get("/").content.decode(), "keys-title")
    assert "None of your keys expires within 7 days or expired in the last 7." in expiring


def test_the_rule_editor_shows_what_a_server_events_payload_holds(alice_browser):
    page = alice_browser.get("/rules/new?trigger_type=core.st2.api_key.expiring").content.decode()
    fields = re.search(r'<details class="payload-fields.*?</details>', page, re.S)[0]
    assert "<code>trigger.object.id</code>" in fields
    assert "<code>trigger.object.metadata</code>" in fields
    assert "<code>trigger.expires_in_seconds</code> <span" in fields
    assert "trigger.object.key_hash" not in fields
    grants = alice_browser.get("/rules/new?trigger_type=core.st2.team.grant_changed")
    assert "<code>trigger.team.name</code>" in grants.content.decode()


def test_payload_fields_of_any_registered_schema_never_break_the_editor():
    """A pack's trigger type may declare any payload_schema: odd types read as text or
    nothing, nested objects list their properties, a deep one stops at three levels."""
    deep = {"type": "object", "properties": {"b": {"properties": {"c": {"properties": {"d": {}}}}}}}
    schema = {
        "properties": {
            "maybe": {"type": ["string", "null"], "description": "either"},
            "odd": {"type": 5},
            "bare": "not a schema",
            "a": deep,
        }
    }
    assert payload_fields({"payload_schema": schema}) == [
        ("trigger.maybe", "string/null", "either"),
        ("trigger.odd", "", ""),
        ("trigger.bare", "", ""),
        ("trigger.a", "object", ""),
        ("trigger.a.b", "", ""),
        ("trigger.a.b.c", "", ""),
    ]
    assert payload_fields({"payload_schema": {"properties": ["x"]}}) == []
    assert payload_fields(None) == []
