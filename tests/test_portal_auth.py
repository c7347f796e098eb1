"""Portal sign-in and sign-out: pages through Django's test Client (and once through real
HTTP), the portal reaching the embedded API of a live server over HTTP with St2Client."""

import re
from datetime import timedelta

import pytest
import requests
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.utils import timezone

from st2bridge.client import St2Client
from st2bridge.models import Token

from .conftest import PASSWORD


def sign_in(client, username="alice", password=PASSWORD, **extra):
    return client.post("/login", {"username": username, "password": password, **extra})


def csrf_token_of(response):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())[1]


def test_login_page_has_labelled_inputs_and_a_csrf_field(portal):
    response = Client().get("/login")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'for="id_username">Username<' in page and 'id="id_username"' in page
    assert 'for="id_password">Password<' in page and 'type="password"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert "Log out" not in page
    csrf_cookie = response.cookies["csrftoken"]
    assert csrf_cookie["httponly"] and csrf_cookie["samesite"] == "Lax"


def test_sign_in_keeps_the_token_only_in_the_server_side_session(portal, alice):
    client = Client()
    responses = [client.get("/login"), sign_in(client, next="/packs")]
    assert responses[-1].status_code == 302 and responses[-1]["Location"] == "/packs"
    token = client.session["st2_token"]
    assert St2Client.from_settings(token=token).whoami()["username"] == "alice"

    responses += [client.get(url) for url in ("/", "/packs", "/actions", "/actions/core.local")]
    for response in responses:
        assert response.status_code in (200, 302)
        assert token not in response.content.decode()
        assert token not in response.cookies.output()
        assert all(token not in value for _, value in response.items())
    session_cookie = responses[1].cookies["sessionid"]
    assert session_cookie["httponly"] and session_cookie["samesite"] == "Lax"
    assert not session_cookie["secure"]  # PORTAL_HTTPS is off in tests


def test_over_real_http_no_set_cookie_carries_the_token(portal, alice):
    browser = requests.Session()
    form = browser.get(f"{portal.url}/login")
    response = browser.post(
        f"{portal.url}/login",
        data={
            "username": "alice",
            "password": PASSWORD,
            "csrfmiddlewaretoken": csrf_token_of(form),
        },
        allow_redirects=False,
    )
    assert response.status_code == 302
    token = SessionStore(session_key=browser.cookies["sessionid"])["st2_token"]
    pages = [browser.get(f"{portal.url}{url}") for url in ("/actions", "/actions/core.local")]
    assert all(page.status_code == 200 for page in pages) and "core.local" in pages[0].text

    set_cookies = form.raw.headers.getlist("Set-Cookie") + response.raw.headers.getlist(
        "Set-Cookie"
    )
    assert set_cookies and all("HttpOnly" in c and "SameSite=Lax" in c for c in set_cookies)
    assert set(browser.cookies.keys()) == {"csrftoken", "sessionid"}
    for page in (form, response, *pages):
        assert token not in page.text
        assert all(token not in value for value in page.headers.values())


def test_wrong_password_says_so_and_keeps_the_username(portal, alice):
    client = Client()
    response = sign_in(client, password="wrong")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Invalid username or password" in page
    assert 'value="alice"' in page
    assert "wrong" not in page
    assert "st2_token" not in client.session


def test_throttled_login_says_so_plainly(portal, alice, settings):
    settings.ST2_LOGIN_FAILURES_PER_USER = 2
    client = Client()
    for _ in range(2):
        assert "Invalid username or password" in sign_in(client, password="wrong").content.decode()
    page = sign_in(client).content.decode()
    assert re.search(r"Too many failed attempts, try again in \d+ seconds", page)
    assert "st2_token" not in client.session


def test_login_requires_csrf(portal, alice):
    client = Client(enforce_csrf_checks=True)
    assert sign_in(client).status_code == 403
    token = csrf_token_of(client.get("/login"))
    response = sign_in(client, csrfmiddlewaretoken=token)
    assert response.status_code == 302 and "st2_token" in client.session


def test_logout_is_post_only_with_csrf_and_ends_the_session(portal, alice):
    client = Client(enforce_csrf_checks=True)
    sign_in(client, csrfmiddlewaretoken=csrf_token_of(client.get("/login")))
    page = client.get("/packs")
    assert "Log out" in page.content.decode()

    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 403
    assert client.get("/packs").status_code == 200  # still signed in

    assert Token.objects.count() == 1
    response = client.post("/logout", {"csrfmiddlewaretoken": csrf_token_of(page)})
    assert response.status_code == 302 and response["Location"] == "/login"
    assert not Token.objects.exists()  # the embedded API revoked the token too
    assert "You have signed out" in client.get("/login").content.decode()
    assert client.get("/packs")["Location"] == "/login?next=/packs"


def test_pages_redirect_to_login_when_signed_out(portal):
    client = Client()
    assert client.get("/packs")["Location"] == "/login?next=/packs"
    assert client.get("/actions?q=a b")["Location"] == "/login?next=/actions%3Fq%3Da%2520b"
    assert client.get("/actions/core.local")["Location"] == "/login?next=/actions/core.local"


def test_htmx_requests_are_told_where_to_sign_in(portal):
    response = Client().get("/actions", HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/login?next=/actions"


def test_expired_token_sends_the_user_to_login_and_back(portal, alice):
    client = Client()
    sign_in(client)
    Token.objects.filter(user=alice).update(expiry=timezone.now() - timedelta(seconds=1))

    response = client.get("/actions?q=noop")
    assert response.status_code == 302
    assert response["Location"] == "/login?next=/actions%3Fq%3Dnoop"
    assert "st2_token" not in client.session
    login_page = client.get(response["Location"])
    assert "Your session has expired" in login_page.content.decode()
    assert 'name="next" value="/actions?q=noop"' in login_page.content.decode()

    back = sign_in(client, next="/actions?q=noop")
    assert back["Location"] == "/actions?q=noop"
    assert "core.noop" in client.get(back["Location"]).content.decode()


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.com/",
        "//evil.example.com/packs",
        "http://testserver.evil/",
        "javascript:alert(1)",
    ],
)
def test_external_next_is_refused(portal, alice, target):
    response = sign_in(Client(), next=target)
    assert response.status_code == 302 and response["Location"] == "/"


def test_signed_in_user_visiting_login_goes_on(portal, alice):
    client = Client()
    sign_in(client)
    assert client.get("/login?next=/actions")["Location"] == "/actions"


def test_every_page_has_a_log_out_button(portal, alice):
    client = Client()
    sign_in(client)
    for url in ("/", "/packs", "/actions", "/actions/core.noop"):
        page = client.get(url).content.decode()
        signout = re.search(
            r'<form class="signout[^"]*" method="post" action="/logout">(.*?)</form>', page, re.S
        )
        assert signout and ">Log out</button>" in signout[1], url
        assert "Signed in as <strong>alice</strong>" in page, url


def test_unreachable_api_is_a_plain_message(portal, alice, settings):
    client = Client()
    sign_in(client)
    settings.ST2_EMBEDDED_BASE_URL = "http://127.0.0.1:9"
    assert "could not be reached" in sign_in(Client()).content.decode()
    response = client.get("/packs")
    assert response.status_code == 502
    assert "StackStorm is not answering" in response.content.decode()
