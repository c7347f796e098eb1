"""Lockout abuse and forged client addresses (issue 12, attacks 7 and 8).

Attack 7: five wrong passwords for a victim from five X-Forwarded-For addresses, then the
victim's correct password from a new address was refused (429), at /auth/v1/tokens, the
portal's /login and /admin/login/ alike: anyone could keep any account locked out.
Attack 8: X-Forwarded-For was believed from loopback, where actions' own HTTP calls come
from, so per-address throttling was bypassed.

The throttle now counts per (username, address), per address and per account for addresses
that failed themselves (st2bridge/auth.py); X-Forwarded-For is believed only from
PORTAL_TRUSTED_PROXIES, and the portal vouches for its users' addresses with a signed header
(st2bridge/addresses.py)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import signing
from django.test import Client
from rest_framework.test import APIClient

from st2bridge.addresses import (
    PORTAL_ADDRESS_HEADER,
    PORTAL_ADDRESS_META,
    client_address,
    login_address,
    vouch_for,
)
from st2bridge.client import St2Client

from ..conftest import PASSWORD, basic

PROXY = "10.0.0.1"  # a trusted proxy in front of the site
ATTACKER = "203.0.113.9"  # an untrusted peer, sending any X-Forwarded-For it likes
FIVE = [f"198.51.100.{n}" for n in range(1, 6)]


def token_request(username, password, peer, forwarded=None, **extra):
    """POST /auth/v1/tokens from `peer`, with X-Forwarded-For `forwarded` if given."""
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return APIClient(REMOTE_ADDR=peer).post(
        "/auth/v1/tokens", {}, format="json", HTTP_AUTHORIZATION=basic(username, password), **extra
    )


@pytest.fixture
def behind_proxy(settings):
    settings.PORTAL_TRUSTED_PROXIES = [PROXY]


# --- attack 7: lockout abuse ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("peer", [PROXY, ATTACKER], ids=["through-trusted-proxy", "untrusted"])
def test_forwarded_wrong_passwords_do_not_lock_the_victim_out_of_the_api(
    behind_proxy, admin_user, peer
):
    for address in FIVE:
        assert token_request("admin", "guess", peer, address).status_code == 401
    victim = token_request("admin", PASSWORD, PROXY, "192.0.2.44")
    assert victim.status_code == 201
    assert victim.json()["user"] == "admin"


@pytest.mark.django_db
def test_the_guessing_address_itself_is_backed_off_with_retry_after(admin_user):
    for address in FIVE:
        token_request("admin", "guess", ATTACKER, address)
    refused = token_request("admin", PASSWORD, ATTACKER, "192.0.2.44")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert token_request("admin", PASSWORD, "192.0.2.44").status_code == 201


@pytest.mark.django_db
def test_many_addresses_get_one_guess_each_once_the_account_is_over_its_limit(settings, admin_user):
    settings.ST2_LOGIN_FAILURES_PER_ACCOUNT = 3
    guessers = ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
    for address in guessers:
        assert token_request("admin", "guess", address).status_code == 401
    assert token_request("admin", "guess", guessers[0]).status_code == 429
    assert token_request("admin", PASSWORD, "192.0.2.44").status_code == 201


@pytest.mark.django_db(transaction=True)
def test_forwarded_wrong_passwords_do_not_lock_the_victim_out_of_the_portal(portal, alice):
    for address in FIVE:
        page = Client(HTTP_X_FORWARDED_FOR=address).post(
            "/login", {"username": "alice", "password": "guess"}
        )
        assert "Invalid username or password" in page.content.decode()
    victim = Client(REMOTE_ADDR="192.0.2.44").post(
        "/login", {"username": "alice", "password": PASSWORD}
    )
    assert victim.status_code == 302


@pytest.mark.django_db(transaction=True)
def test_the_portal_throttles_the_browser_it_signs_in(portal, alice):
    for _ in range(5):
        Client(REMOTE_ADDR=ATTACKER).post("/login", {"username": "alice", "password": "guess"})
    page = Client(REMOTE_ADDR=ATTACKER).post("/login", {"username": "alice", "password": PASSWORD})
    assert "Too many failed attempts" in page.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("peer", [PROXY, ATTACKER], ids=["through-trusted-proxy", "untrusted"])
def test_forwarded_wrong_passwords_do_not_lock_an_admin_out_of_the_django_admin(
    behind_proxy, admin_user, peer
):
    for address in FIVE:
        page = Client(REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=address).post(
            "/admin/login/", {"username": "admin", "password": "guess"}
        )
        assert page.status_code == 200 and "Too many" not in page.content.decode()
    victim = Client(REMOTE_ADDR="192.0.2.44").post(
        "/admin/login/", {"username": "admin", "password": PASSWORD}
    )
    assert victim.status_code == 302
    attacker = Client(REMOTE_ADDR=ATTACKER).post(
        "/admin/login/", {"username": "admin", "password": PASSWORD}
    )
    if peer == ATTACKER:  # its own five failures
        assert "Too many failed attempts" in attacker.content.decode()


# --- attack 8: forged client addresses ----------------------------------------------------------


@pytest.mark.django_db
def test_forwarded_for_from_loopback_is_not_believed(settings, alice):
    """An action's HTTP call arrives from loopback: spraying names from there under made-up
    X-Forwarded-For addresses counts against loopback itself."""
    settings.ST2_LOGIN_FAILURES_PER_ADDRESS = 3
    for name, address in zip(("u1", "u2", "u3"), FIVE, strict=False):
        assert token_request(name, "x", "127.0.0.1", address).status_code == 401
    assert token_request("alice", PASSWORD, "127.0.0.1", FIVE[4]).status_code == 429


@pytest.mark.django_db
def test_a_forged_portal_address_header_is_ignored(settings, alice):
    settings.ST2_LOGIN_FAILURES_PER_ADDRESS = 3
    forged = [
        "198.51.100.1",  # unsigned
        signing.dumps(["198.51.100.2", "u2"], key="not the secret key", salt="x"),
        vouch_for("198.51.100.3", "bob"),  # genuine, but for another user
    ]
    for name, header in zip(("u1", "u2", "u3"), forged, strict=True):
        response = token_request(name, "x", "127.0.0.1", FIVE[0], **{PORTAL_ADDRESS_META: header})
        assert response.status_code == 401
    vouched = token_request("alice", PASSWORD, "127.0.0.1", **{PORTAL_ADDRESS_META: forged[2]})
    assert vouched.status_code == 429


@pytest.mark.django_db
def test_the_portals_signed_address_is_believed(settings, alice):
    settings.ST2_LOGIN_FAILURES_PER_ADDRESS = 2
    for name in ("u1", "u2"):
        token_request(name, "x", "127.0.0.1")
    vouched = {PORTAL_ADDRESS_META: vouch_for("192.0.2.44", "alice")}
    assert token_request("alice", PASSWORD, "127.0.0.1", **vouched).status_code == 201


@pytest.mark.django_db
def test_an_ipv6_client_is_counted_by_its_slash_64(settings, alice):
    settings.ST2_LOGIN_FAILURES_PER_ADDRESS = 2
    for name, address in (("u1", "2001:db8::1"), ("u2", "2001:db8::2")):
        assert token_request(name, "x", address).status_code == 401
    assert token_request("alice", PASSWORD, "2001:db8::ffff").status_code == 429
    assert token_request("alice", PASSWORD, "2001:db8:1::1").status_code == 201


@pytest.mark.parametrize(
    "peer, forwarded, trusted, expected",
    [
        ("127.0.0.1", "198.51.100.1", [], "127.0.0.1"),  # loopback is not trusted by default
        ("10.0.0.1", "198.51.100.1", ["10.0.0.0/8"], "198.51.100.1"),
        ("10.0.0.1", "6.6.6.6, 198.51.100.1", ["10.0.0.0/8"], "198.51.100.1"),  # rightmost
        ("10.0.0.1", "198.51.100.1, 10.0.0.2", ["10.0.0.0/8"], "198.51.100.1"),  # two proxies
        ("10.0.0.1", "not-an-address", ["10.0.0.0/8"], "10.0.0.1"),
        ("::ffff:10.0.0.1", "198.51.100.1", ["10.0.0.1"], "198.51.100.1"),
        ("203.0.113.9", "198.51.100.1", ["10.0.0.0/8"], "203.0.113.9"),
    ],
)
def test_client_address(peer, forwarded, trusted, expected):
    meta = {"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": forwarded}
    assert client_address(meta, trusted) == expected


# --- what the portal sends -----------------------------------------------------------------------


@pytest.fixture
def token_server():
    """An auth server that records the headers of each POST /tokens."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            seen.append(dict(self.headers))
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps({"token": "t", "user": "alice"}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()
    httpd.server_close()


def test_the_portal_vouches_for_the_browser_to_its_embedded_api(token_server):
    url, seen = token_server
    St2Client(url, url, url, embedded=True).login("alice", PASSWORD, client_address="192.0.2.44")
    assert "X-Forwarded-For" not in seen[0]
    meta = {"REMOTE_ADDR": "127.0.0.1", PORTAL_ADDRESS_META: seen[0][PORTAL_ADDRESS_HEADER]}
    assert login_address(meta, "alice", []) == "192.0.2.44"
    assert login_address(meta, "bob", []) == "127.0.0.1"  # good for alice only


def test_the_portal_forwards_the_browser_to_a_remote_stackstorm(token_server):
    url, seen = token_server
    St2Client(url, url, url).login("alice", PASSWORD, client_address="192.0.2.44")
    assert seen[0]["X-Forwarded-For"] == "192.0.2.44"
    assert PORTAL_ADDRESS_HEADER not in seen[0]


def test_a_vouched_address_expires(monkeypatch):
    header = vouch_for("192.0.2.44", "alice")
    later = signing.time.time() + 31
    monkeypatch.setattr(signing.time, "time", lambda: later)
    meta = {"REMOTE_ADDR": "127.0.0.1", PORTAL_ADDRESS_META: header}
    assert login_address(meta, "alice", []) == "127.0.0.1"
