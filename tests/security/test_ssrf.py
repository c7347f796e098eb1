"""SSRF through core.http (issue 12): a non-staff user's http-request may not reach loopback,
link-local or cloud metadata addresses (ST2_HTTP_PROTECT_LOCAL, on by default); staff may.

Real HTTP servers: one on 127.0.0.1 (the service's own port, say), one on ::1, and one on
this machine's non-loopback address (from `hostname -I`), which non-staff may reach and which
hosts the redirect to loopback. Each server records the requests it received, so a refusal
is proven by a server that saw nothing."""

import ipaddress
import json
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from st2bridge.auth import is_admin_username
from st2bridge.runners import RunRequest, get_runner

from ..catalog_support import register_bundled_packs
from ..worker_support import run_to_completion


class Server:
    """An HTTP server on `host` that answers every GET with its name, and /redirect?to=URL
    with a 302 to URL."""

    def __init__(self, name, host, family=socket.AF_INET):
        self.name, self.seen = name, []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.seen.append(self.path)
                query = parse_qs(urlparse(self.path).query)
                if urlparse(self.path).path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", query["to"][0])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps({"server": server.name, "host": self.headers["Host"]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

        class Httpd(ThreadingHTTPServer):
            address_family = family
            daemon_threads = True

        self.httpd = Httpd((host, 0), Handler)
        self.port = self.httpd.server_address[1]
        shown = f"[{host}]" if family == socket.AF_INET6 else host
        self.url = f"http://{shown}:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def outside_address():
    """This machine's first IPv4 address that is not loopback or link-local."""
    try:
        words = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout
    except OSError:
        words = ""
    for word in words.split():
        address = ipaddress.ip_address(word)
        if address.version == 4 and not (address.is_loopback or address.is_link_local):
            return word
    return None


@pytest.fixture(scope="module")
def loopback():
    server = Server("loopback", "127.0.0.1")
    yield server
    server.close()


@pytest.fixture(scope="module")
def loopback6():
    try:
        server = Server("loopback6", "::1", socket.AF_INET6)
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    yield server
    server.close()


@pytest.fixture(scope="module")
def outside():
    address = outside_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to host the redirect")
    server = Server("outside", address)
    yield server
    server.close()


@pytest.fixture(autouse=True)
def forget_requests(request):
    yield
    for name in ("loopback", "loopback6", "outside"):
        if name in request.fixturenames:
            request.getfixturevalue(name).seen.clear()


def run_http(protect=True, **parameters):
    request = RunRequest(
        execution_id="exec-1",
        action={"ref": "core.http", "pack": "core", "name": "http"},
        pack_path=None,
        parameters={"timeout": 5, **parameters},
        timeout=10,
        on_output=lambda output_type, text: None,
        cancel=threading.Event(),
        protect_local_addresses=protect,
    )
    return get_runner("http-request").run(request)


def assert_refused(outcome, address):
    assert outcome.status == "failed"
    assert outcome.result["error"].startswith("Refused to connect to ")
    assert address in outcome.result["error"]
    assert "ST2_HTTP_PROTECT_LOCAL" in outcome.result["error"]


# --- the addresses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host, address",
    [
        ("127.0.0.1", "127.0.0.1"),
        ("localhost", "localhost"),  # named, with whichever of 127.0.0.1 and ::1 came first
        ("127.1.2.3", "127.1.2.3"),
        ("2130706433", "127.0.0.1"),  # 127.0.0.1 as one number
        ("0.0.0.0", "0.0.0.0"),  # noqa: S104 (reaches this machine on Linux)
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
    ],
)
def test_non_staff_cannot_reach_loopback(loopback, host, address):
    outcome = run_http(url=f"http://{host}:{loopback.port}/secret")
    assert_refused(outcome, address)
    assert loopback.seen == []


def test_non_staff_cannot_reach_ipv6_loopback(loopback6):
    outcome = run_http(url=f"{loopback6.url}/secret")
    assert_refused(outcome, "::1")
    assert loopback6.seen == []


@pytest.mark.parametrize(
    "url, address",
    [
        ("http://169.254.169.254/latest/meta-data/iam/", "169.254.169.254"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254"),
        ("http://100.100.100.200/latest/meta-data/", "100.100.100.200"),
        ("http://[fe80::1]/", "fe80::1"),
        ("http://[::ffff:169.254.169.254]/", "::ffff:169.254.169.254"),
        ("http://[64:ff9b::a9fe:a9fe]/", "64:ff9b::a9fe:a9fe"),  # NAT64 169.254.169.254
    ],
)
def test_non_staff_cannot_reach_link_local_or_cloud_metadata(url, address):
    assert_refused(run_http(url=url), address)


def test_non_staff_may_reach_other_addresses(outside):
    outcome = run_http(url=f"{outside.url}/hello")
    assert outcome.status == "succeeded"
    assert outcome.result["body"]["server"] == "outside"


def test_staff_may_reach_loopback(loopback, loopback6):
    for server in (loopback, loopback6):
        outcome = run_http(protect=False, url=f"{server.url}/status")
        assert outcome.status == "succeeded"
        assert outcome.result["body"]["server"] == server.name


# --- ways around the check -----------------------------------------------------------------------


def test_a_redirect_to_loopback_is_refused(outside, loopback):
    url = f"{outside.url}/redirect?to={loopback.url}/secret"
    outcome = run_http(url=url, allow_redirects=True)
    assert_refused(outcome, "127.0.0.1")
    assert outside.seen and loopback.seen == []


def test_a_redirect_to_loopback_is_followed_for_staff(outside, loopback):
    url = f"{outside.url}/redirect?to={loopback.url}/status"
    outcome = run_http(protect=False, url=url, allow_redirects=True)
    assert outcome.status == "succeeded"
    assert outcome.result["body"]["server"] == "loopback"


def test_a_name_that_rebinds_to_loopback_is_connected_to_as_checked(monkeypatch, outside, loopback):
    """The name resolves to the outside address, then to loopback: the address checked is
    the address connected to, with the Host header still the name."""
    answers = iter([outside.httpd.server_address[0]] + ["127.0.0.1"] * 10)
    real_getaddrinfo = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.example":
            host = next(answers)
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    first = run_http(url=f"http://rebind.example:{outside.port}/hello")
    assert first.status == "succeeded"
    assert first.result["body"] == {"server": "outside", "host": f"rebind.example:{outside.port}"}
    second = run_http(url=f"http://rebind.example:{loopback.port}/secret")
    assert_refused(second, "127.0.0.1")
    assert loopback.seen == []


def test_a_name_with_a_loopback_address_among_others_is_refused(monkeypatch, outside, loopback):
    real_getaddrinfo = socket.getaddrinfo

    def round_robin(host, port, *args, **kwargs):
        if host == "both.example":
            return real_getaddrinfo(
                outside.httpd.server_address[0], port, *args, **kwargs
            ) + real_getaddrinfo("127.0.0.1", port, *args, **kwargs)
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", round_robin)
    assert_refused(run_http(url=f"http://both.example:{loopback.port}/"), "127.0.0.1")
    assert loopback.seen == [] and outside.seen == []


def test_proxy_variables_of_the_worker_are_not_used(monkeypatch, outside, loopback):
    """A loopback proxy from the environment would carry the request to loopback."""
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", loopback.url)
    monkeypatch.setenv("HTTP_PROXY", loopback.url)
    outcome = run_http(url=f"{outside.url}/hello")
    assert outcome.status == "succeeded"
    assert outcome.result["body"]["server"] == "outside"
    assert loopback.seen == []


def test_proxy_parameters_are_refused_while_protected(outside, loopback):
    outcome = run_http(url=f"{outside.url}/hello", http_proxy=loopback.url)
    assert outcome.status == "failed"
    assert "http_proxy" in outcome.result["error"]
    assert loopback.seen == [] and outside.seen == []


# --- who is protected: the worker sets it per execution ------------------------------------------


@pytest.fixture
def catalog(transactional_db):
    register_bundled_packs()


def launch_http(api, url):
    response = api.post(
        "/api/v1/executions",
        {"action": "core.http", "parameters": {"url": url, "timeout": 5}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return run_to_completion(response.json()["id"])


@pytest.mark.django_db(transaction=True)
def test_a_members_execution_cannot_reach_loopback(catalog, alice_api, loopback):
    done = launch_http(alice_api, f"{loopback.url}/secret")
    assert done.status == "failed"
    assert done.result["error"].startswith("Refused to connect to 127.0.0.1")
    assert loopback.seen == []


@pytest.mark.django_db(transaction=True)
def test_a_staff_execution_reaches_loopback(catalog, admin_api, loopback):
    done = launch_http(admin_api, f"{loopback.url}/status")
    assert done.status == "succeeded"
    assert done.result["body"]["server"] == "loopback"


@pytest.mark.django_db(transaction=True)
def test_members_reach_loopback_when_protection_is_off(catalog, settings, alice_api, loopback):
    settings.ST2_HTTP_PROTECT_LOCAL = False
    done = launch_http(alice_api, f"{loopback.url}/status")
    assert done.status == "succeeded"


@pytest.mark.django_db
def test_the_system_user_of_pack_rules_counts_as_staff(alice, admin_user, django_user_model):
    assert is_admin_username("admin") and not is_admin_username("alice")
    assert is_admin_username("stanley")  # pack rules: registered by admins
    stanley = django_user_model.objects.create_user("stanley")
    assert not is_admin_username("stanley")  # an account of that name is what it is
    stanley.is_staff = True
    stanley.save()
    assert is_admin_username("stanley")
    admin_user.is_active = False
    admin_user.save()
    assert not is_admin_username("admin")
