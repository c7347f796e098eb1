"""The audit log in the portal (issue 18): sign-in, failures and sign-out through the login form
recorded with the browser's address (which the portal vouches for to the embedded API), the
Audit page for administrators with its filters and paging, CSV and JSON exports (streamed,
bounded, secrets never in them), 403 for everyone else, and no route that changes a record."""

import csv
import io
import json

import pytest
from django.test import Client

from portal import paging
from portal.views import audit as audit_view
from st2bridge.models import AuditRecord

from .conftest import PASSWORD
from .portal_support import browser

pytestmark = pytest.mark.django_db(transaction=True)
BROWSER = "198.51.100.7"
CANARY = "canary-portal-audit-6021"


def sign_in(client, username, password=PASSWORD):
    return client.post("/login", {"username": username, "password": password}, REMOTE_ADDR=BROWSER)


def last(action):
    return AuditRecord.objects.filter(action=action).latest("pk")


def test_portal_sign_in_failure_and_sign_out_are_recorded_from_the_browsers_address(portal, alice):
    client = Client()
    assert sign_in(client, "alice", CANARY).status_code == 200  # the form again, with an error
    failed = last("auth.signin_failed")
    assert (failed.actor, failed.address) == ("alice", BROWSER)
    assert sign_in(client, "alice").status_code == 302
    signed_in = last("auth.signin")
    assert (signed_in.actor, signed_in.address) == ("alice", BROWSER)
    assert signed_in.credential == f"token:{signed_in.object_id}"
    assert client.post("/logout", REMOTE_ADDR=BROWSER).status_code == 302
    signed_out = last("auth.signout")
    assert (signed_out.actor, signed_out.address) == ("alice", BROWSER)
    assert signed_out.credential == signed_in.credential
    assert not AuditRecord.objects.filter(changes__icontains=CANARY).exists()


def test_a_launch_from_the_portal_is_recorded_with_the_browsers_address(portal, alice):
    client = Client()
    sign_in(client, "alice")
    token = last("auth.signin").credential
    response = client.post("/actions/core.noop", {}, REMOTE_ADDR=BROWSER)
    assert response.status_code == 302
    launched = last("execution.launch")
    assert (launched.actor, launched.address, launched.credential) == ("alice", BROWSER, token)
    assert response["Location"].endswith(launched.object_id)


def test_a_forged_or_missing_vouching_leaves_the_portals_own_address(portal, alice):
    """Straight to the API, an X-Portal-Client-Address signed for someone else is ignored."""
    from st2bridge.addresses import vouch_for
    from st2bridge.client import St2Client

    St2Client.from_settings(on_behalf_of=(BROWSER, "bob")).login("alice", PASSWORD)
    assert last("auth.signin").address == "127.0.0.1"
    client = St2Client.from_settings(
        token=St2Client.from_settings().login("alice", PASSWORD)["token"]
    )
    client.session.headers["X-Portal-Client-Address"] = vouch_for(BROWSER, "bob")
    client.launch("core.noop")
    assert last("execution.launch").address == "127.0.0.1"


@pytest.fixture
def history(portal, admin_user, alice):
    """Records of several kinds: sign-ins, a launch with a secret, a datastore value."""
    from .portal_support import api_as

    alice_api = api_as("alice")
    alice_api.launch("demo.deploy", {"environment": "staging", "version": "1", "api_token": CANARY})
    alice_api._request(
        "PUT",
        f"{alice_api.api_url}/keys/note",
        json={"name": "note", "value": CANARY, "scope": "user"},
    )
    return browser("admin")


def test_the_audit_page_lists_and_filters_records(history):
    page = history.get("/audit").content.decode()
    assert "execution.launch" in page and "key.set" in page and "auth.signin" in page
    assert 'aria-current="page" href="/audit"' in page
    filtered = history.get("/audit", {"user": "alice", "action": "execution"})
    text = filtered.content.decode()
    assert filtered.status_code == 200
    assert "execution.launch" in text and "key.set" not in text and "1 record." in text
    assert "demo.deploy" in text and CANARY not in text
    by_object = history.get("/audit", {"object_id": "st2kv.user:alice:note"}).content.decode()
    assert "key.set" in by_object and "execution.launch" not in by_object


def test_the_audit_page_pages_keeping_the_filters(history, monkeypatch):
    monkeypatch.setattr(audit_view, "window", lambda page: paging.window(page, 2))
    monkeypatch.setattr(audit_view, "pager", lambda *a: paging.pager(*a, size=2))
    alices = AuditRecord.objects.filter(actor="alice").order_by("-pk")
    assert alices.count() == 3
    first = history.get("/audit", {"user": "alice"}).content.decode()
    assert first.count('id="record-') == 2
    assert 'href="?user=alice&amp;page=2"' in first
    second = history.get("/audit", {"user": "alice", "page": 2}).content.decode()
    assert f'id="record-{alices[2].pk}"' in second and f'id="record-{alices[0].pk}"' not in second


def test_a_bad_date_is_shown_beside_its_field_with_the_input_kept(history):
    response = history.get("/audit", {"since": "yesterday", "user": "alice"})
    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="f-since-error"' in page and "Enter a date as YYYY-MM-DD." in page
    assert 'value="yesterday"' in page and 'value="alice"' in page


def exported(client, kind, **filters):
    response = client.get(f"/audit/export.{kind}", filters)
    assert response.status_code == 200
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def test_csv_and_json_exports_follow_the_filters_and_mask_secrets(history):
    rows = list(csv.DictReader(io.StringIO(exported(history, "csv", user="alice"))))
    assert {row["user"] for row in rows} == {"alice"}
    assert {row["action"] for row in rows} >= {"auth.signin", "execution.launch", "key.set"}
    launch = next(row for row in rows if row["action"] == "execution.launch")
    assert json.loads(launch["changes"])["parameters"][1]["api_token"] == "********"
    records = json.loads(exported(history, "json", action="key"))
    assert [record["object_id"] for record in records] == ["st2kv.user:alice:note"]
    for kind in ("csv", "json"):
        assert CANARY not in exported(history, kind)


def test_an_export_is_streamed_page_by_page_and_bounded(history, monkeypatch):
    total = AuditRecord.objects.count()
    monkeypatch.setattr(audit_view, "EXPORT_PAGE", 2)
    records = json.loads(exported(history, "json"))
    assert [r["id"] for r in records] == [
        str(pk) for pk in AuditRecord.objects.order_by("-pk").values_list("pk", flat=True)
    ]
    assert len(records) == total
    monkeypatch.setattr(audit_view, "EXPORT_MAX_ROWS", 3)
    assert len(json.loads(exported(history, "json"))) == 3
    assert len(list(csv.reader(io.StringIO(exported(history, "csv"))))) == 1 + 3


def test_a_formula_in_a_csv_cell_is_shown_as_text(history):
    Client().post("/login", {"username": "=HYPERLINK(1)", "password": "x"})
    rows = list(csv.DictReader(io.StringIO(exported(history, "csv", action="auth.signin_failed"))))
    assert rows[0]["user"] == "'=HYPERLINK(1)"


def test_non_staff_get_403_on_the_page_and_the_exports(portal, alice):
    alice_browser = browser("alice")
    for url in ("/audit", "/audit/export.csv", "/audit/export.json"):
        assert alice_browser.get(url).status_code == 403
    assert 'href="/audit"' not in alice_browser.get("/").content.decode()
    assert Client().get("/audit")["Location"].startswith("/login")


def test_the_portal_offers_no_way_to_change_or_delete_a_record(history):
    before = list(AuditRecord.objects.values())
    record = before[0]["id"]
    for method in ("post", "put", "patch", "delete"):
        assert getattr(history, method)("/audit").status_code == 405
        assert getattr(history, method)("/audit/export.csv").status_code == 405
        assert getattr(history, method)(f"/audit/{record}").status_code == 404
    assert list(AuditRecord.objects.values()) == before


def test_in_front_of_a_stackstorm_server_the_page_says_it_has_no_audit_log(
    portal, admin_user, monkeypatch
):
    admin = browser("admin")
    assert 'href="/audit"' in admin.get("/").content.decode()
    monkeypatch.setattr("portal.access.extensions", lambda client: {})  # StackStorm's answer
    page = admin.get("/audit")
    assert page.status_code == 200
    assert "Not available with this StackStorm server." in page.content.decode()
    assert admin.get("/audit/export.csv").status_code == 404
    assert 'href="/audit"' not in admin.get("/").content.decode()
