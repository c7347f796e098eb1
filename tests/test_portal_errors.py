"""Error pages (issue 14 defect 4): a refused or unknown page of the portal answers with the
portal's own 403, 404 or 500 page, with its navigation, while the API's paths keep answering
StackStorm's JSON faultstrings (st2bridge/api/errors.py, portal/urls.py handlers)."""

import pytest
from django.test import Client
from django.urls import include, path

from portal import urls as portal_urls

pytestmark = pytest.mark.django_db(transaction=True)


def boom(request):
    raise RuntimeError("a bug")


# This module is the URLconf of the 500 tests: the site's, plus two views that fail.
urlpatterns = [
    path("boom", boom),
    path("api/v1/boom", boom),
    path("", include(portal_urls.urlpatterns)),
]
handler403 = portal_urls.handler403
handler404 = portal_urls.handler404
handler500 = portal_urls.handler500


def assert_portal_page(response, status, heading):
    page = response.content.decode()
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert f'<h1 class="mb-3">{heading}</h1>' in page
    assert "/static/vendor/bootstrap/css/bootstrap.min.css" in page
    assert '<nav class="navbar' in page and 'href="/"' in page
    return page


def test_an_unknown_action_is_the_portals_404_with_the_navigation(alice_browser):
    page = assert_portal_page(alice_browser.get("/actions/no.such"), 404, "Not found")
    assert 'href="/packs"' in page and "Signed in as <strong>alice</strong>" in page
    assert "/actions/no.such" in page


def test_an_action_the_user_may_not_see_is_the_same_404(alice_browser, settings):
    settings.ST2_DEFAULT_ACCESS = "none"  # alice is in no team: she sees no action
    assert_portal_page(alice_browser.get("/actions/core.local"), 404, "Not found")


def test_an_unknown_page_is_the_portals_404_for_anyone(portal):
    page = assert_portal_page(Client().get("/no/such/page"), 404, "Not found")
    assert 'href="/login"' in page


def test_a_refused_page_is_the_portals_403_saying_why(alice_browser):
    page = assert_portal_page(alice_browser.get("/manage/apikeys"), 403, "Not allowed")
    assert "Only administrators see every user" in page


def test_the_api_keeps_answering_json_faultstrings(portal):
    client = Client()
    for path_ in ("/api/v1/no/such", "/auth/v1/nothing", "/stream/v1/nothing"):
        response = client.get(path_)
        assert response.status_code == 404, path_
        assert response.json() == {"faultstring": "The resource could not be found."}
    assert client.get("/api/v1/actions").json()["faultstring"].startswith("Unauthorized")


@pytest.mark.urls(__name__)
def test_a_server_error_is_the_portals_500_page_and_json_under_the_api(portal):
    client = Client(raise_request_exception=False)
    page = assert_portal_page(client.get("/boom"), 500, "Something went wrong")
    assert "a bug" not in page
    api = client.get("/api/v1/boom")
    assert api.status_code == 500 and api.json() == {"faultstring": "Internal Server Error"}
