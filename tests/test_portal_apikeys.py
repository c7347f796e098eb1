"""The API keys page and the administrators' page of everyone's keys, through Django's test
client with the portal reaching a live server's API over HTTP; keys then used over real HTTP."""

import re
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from st2bridge.models import ApiKey

from .portal_support import ESCAPED, SCRIPT, api_as

pytestmark = pytest.mark.django_db(transaction=True)

LATER = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")


def create(client, name="ci", **extra):
    """POST the form and follow the redirect a created key answers with."""
    return client.post("/apikeys", {"name": name, "expires_at": "", **extra}, follow=True)


def shown_key(page):
    return re.search(r'id="new-key-value"[^>]*value="([^"]+)"', page)


def whoami_with(portal, key):
    url = f"{portal.url}/api/v1/user"
    return requests.get(url, headers={"St2-Api-Key": key}, timeout=10)


def test_a_new_key_is_shown_once_and_works(alice_browser, portal):
    data = {"meta_key": ["team", ""], "meta_value": ["ops", ""], "expires_at": LATER}
    response = create(alice_browser, **data)
    assert response.redirect_chain == [("/apikeys#new-key", 302)]
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    key = shown_key(page)[1]
    assert "it will not be shown again" in page and "copy" in page
    stored = ApiKey.objects.get()
    assert stored.metadata == {"name": "ci", "team": "ops"}
    assert stored.expires_at is not None
    assert whoami_with(portal, key).json()["username"] == "alice"
    again = alice_browser.get("/apikeys").content.decode()
    assert key not in again and shown_key(again) is None
    assert "team=ops" in again and f"key-{stored.id}" in again
    assert key not in str(dict(alice_browser.session))


def test_reloading_the_new_key_creates_no_second_key_and_forgets_the_first(alice_browser):
    """Issue 14 defect 3: creating a key is Post/Redirect/Get. Reloading the page that shows
    the new key is a GET: no second key, and the key is not shown again."""
    posted = alice_browser.post("/apikeys", {"name": "once", "expires_at": ""})
    assert posted.status_code == 302 and posted["Location"] == "/apikeys#new-key"
    assert shown_key(alice_browser.get("/apikeys").content.decode())
    reloaded = alice_browser.get("/apikeys")
    assert reloaded.status_code == 200 and shown_key(reloaded.content.decode()) is None
    assert ApiKey.objects.count() == 1


def test_disable_enable_and_delete_take_effect_at_once(alice_browser, portal):
    key = shown_key(create(alice_browser).content.decode())[1]
    key_id = ApiKey.objects.get().id
    assert alice_browser.post(f"/apikeys/{key_id}/disable").status_code == 302
    assert whoami_with(portal, key).status_code == 401
    assert "disabled" in alice_browser.get("/apikeys").content.decode()
    alice_browser.post(f"/apikeys/{key_id}/enable")
    assert whoami_with(portal, key).status_code == 200
    confirm = alice_browser.get(f"/apikeys/{key_id}/delete").content.decode()
    assert "Delete the key" in confirm
    assert ApiKey.objects.exists()  # a GET only asks
    assert alice_browser.post(f"/apikeys/{key_id}/delete").status_code == 302
    assert whoami_with(portal, key).status_code == 401
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize(
    ("data", "field_error"),
    [
        ({"name": ""}, "This field is required."),
        ({"expires_at": "2001-01-01T00:00"}, "Pick a moment in the future."),
        ({"expires_at": "soon"}, "Enter a valid date/time."),
        ({"meta_key": ["", ""], "meta_value": ["orphan", ""]}, "needs a key"),
        ({"meta_key": ["name"], "meta_value": ["x"]}, "given twice"),
    ],
)
def test_form_errors_keep_the_input_and_create_nothing(alice_browser, data, field_error):
    response = create(alice_browser, **{"name": "kept-name", **data})
    assert response.status_code == 400
    page = response.content.decode()
    assert field_error in page
    if data.get("name", "kept-name"):
        assert 'value="kept-name"' in page
    assert not ApiKey.objects.exists()


def test_metadata_is_rendered_inert(alice_browser):
    create(alice_browser, name=SCRIPT, meta_key=["note"], meta_value=[SCRIPT])
    page = alice_browser.get("/apikeys").content.decode()
    assert ESCAPED in page and SCRIPT not in page


def test_nobody_touches_another_users_key(alice_browser, bob):
    bobs = api_as("bob").create_api_key({"name": "bob's"})
    for path in (f"/apikeys/{bobs['id']}/disable", f"/apikeys/{bobs['id']}/delete"):
        assert alice_browser.post(path).status_code == 404
    assert alice_browser.get(f"/apikeys/{bobs['id']}/delete").status_code == 404
    assert ApiKey.objects.get(id=bobs["id"]).enabled
    assert "bob&#x27;s" not in alice_browser.get("/apikeys").content.decode()


def test_admin_sees_filters_and_revokes_everyones_keys(admin_browser, alice, bob, portal):
    alices = api_as("alice").create_api_key({"name": "ci", "team": "web"})
    bobs = api_as("bob").create_api_key({"name": "laptop"})
    page = admin_browser.get("/manage/apikeys").content.decode()
    assert f"key-{alices['id']}" in page and f"key-{bobs['id']}" in page
    by_user = admin_browser.get("/manage/apikeys?user=bob").content.decode()
    assert f"key-{bobs['id']}" in by_user and f"key-{alices['id']}" not in by_user
    by_meta = admin_browser.get("/manage/apikeys?metadata=team:web").content.decode()
    assert f"key-{alices['id']}" in by_meta and f"key-{bobs['id']}" not in by_meta
    bad = admin_browser.get("/manage/apikeys?metadata=nocolon")
    assert bad.status_code == 400 and "metadata:" in bad.content.decode()
    back = "/manage/apikeys?user=bob"
    response = admin_browser.post(f"/apikeys/{bobs['id']}/disable", {"next": back})
    assert response["Location"] == back
    assert whoami_with(portal, bobs["key"]).status_code == 401
    admin_browser.post(f"/apikeys/{alices['id']}/delete", {"next": back})
    assert whoami_with(portal, alices["key"]).status_code == 401


def test_only_admins_see_everyones_keys(alice_browser):
    assert alice_browser.get("/manage/apikeys").status_code == 403
    assert "Everyone&#x27;s keys" not in alice_browser.get("/apikeys").content.decode()


def test_next_never_leaves_the_site(alice_browser):
    key_id = api_as("alice").create_api_key({"name": "x"})["id"]
    response = alice_browser.post(f"/apikeys/{key_id}/disable", {"next": "https://evil.example"})
    assert response["Location"] == "/apikeys"


def test_forms_need_the_csrf_token(alice_browser):
    alice_browser.handler.enforce_csrf_checks = True
    assert create(alice_browser).status_code == 403
    assert not ApiKey.objects.exists()
