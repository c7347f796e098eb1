"""http-request against a real HTTP server on 127.0.0.1: StackStorm's result shape and status
rule (200-206 succeeded, otherwise failed; no answer in time -> timeout), what is sent."""

import base64
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from st2bridge.runners import RunRequest, get_runner

RELEASE_SLOW = threading.Event()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        route = urlparse(self.path).path
        if route == "/json":
            self.reply(200, "application/json; charset=utf-8", json.dumps({"ok": True}))
        elif route == "/text":
            self.reply(200, "text/plain", "plain words")
        elif route == "/broken-json":
            self.reply(200, "application/json", "{not json")
        elif route == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/json")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif route == "/basic":
            expected = "Basic " + base64.b64encode(b"alice:pa55").decode()
            ok = self.headers.get("Authorization") == expected
            self.reply(200 if ok else 401, "text/plain", "welcome" if ok else "who?")
        elif route == "/slow":
            RELEASE_SLOW.wait(5)
            self.reply(200, "text/plain", "late")
        else:
            self.echo()

    def do_POST(self):
        self.echo()

    do_PUT = do_POST

    def echo(self):
        length = int(self.headers.get("Content-Length") or 0)
        parsed = urlparse(self.path)
        seen = {
            "method": self.command,
            "path": parsed.path,
            "query": parse_qs(parsed.query),
            "headers": dict(self.headers),
            "body": self.rfile.read(length).decode(),
        }
        status = 404 if parsed.path == "/missing" else 200
        self.reply(status, "application/json", json.dumps(seen))

    def reply(self, status, content_type, text):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    RELEASE_SLOW.set()
    httpd.shutdown()
    httpd.server_close()


def request_for(parameters, timeout=10):
    action = {"ref": "core.http", "pack": "core", "name": "http"}
    return RunRequest(
        execution_id="exec-1",
        action=action,
        pack_path=None,
        parameters=parameters,
        timeout=timeout,
        on_output=lambda output_type, text: None,
        cancel=threading.Event(),
    )


def run_http(**parameters):
    return get_runner("http-request").run(request_for(parameters))


def test_json_body_is_parsed(server):
    outcome = run_http(url=f"{server}/json")
    assert outcome.status == "succeeded"
    assert outcome.result["status_code"] == 200
    assert outcome.result["body"] == {"ok": True}
    assert outcome.result["parsed"] is True
    assert outcome.result["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert set(outcome.result) == {"status_code", "body", "parsed", "headers"}


def test_text_body_stays_text(server):
    outcome = run_http(url=f"{server}/text")
    assert outcome.status == "succeeded"
    assert outcome.result["body"] == "plain words"
    assert outcome.result["parsed"] is False


def test_body_that_claims_json_but_is_not_stays_text(server):
    outcome = run_http(url=f"{server}/broken-json")
    assert outcome.result["body"] == "{not json"
    assert outcome.result["parsed"] is False


def test_404_fails_with_the_response(server):
    outcome = run_http(url=f"{server}/missing")
    assert outcome.status == "failed"
    assert outcome.result["status_code"] == 404
    assert outcome.result["body"]["path"] == "/missing"


def test_method_headers_params_and_text_body_are_sent(server):
    outcome = run_http(
        url=f"{server}/echo",
        method="put",
        headers={"X-Trace": "abc", "X-Number": 7},
        params={"q": "a b", "page": 2},
        body="raw text",
        cookies={"session": "s1"},
    )
    seen = outcome.result["body"]
    assert seen["method"] == "PUT"
    assert seen["query"] == {"q": ["a b"], "page": ["2"]}
    assert seen["body"] == "raw text"
    assert seen["headers"]["X-Trace"] == "abc"
    assert seen["headers"]["X-Number"] == "7"
    assert seen["headers"]["Cookie"] == "session=s1"
    assert seen["headers"]["User-Agent"] == "st2/v3.9.0"
    assert seen["headers"]["X-Stanley-Action"] == "http"


def test_structured_body_is_sent_as_json(server):
    outcome = run_http(url=f"{server}/echo", method="POST", body={"name": "x", "n": [1, 2]})
    seen = outcome.result["body"]
    assert json.loads(seen["body"]) == {"name": "x", "n": [1, 2]}
    assert seen["headers"]["Content-Type"] == "application/json"


def test_basic_auth_from_username_and_password(server):
    assert run_http(url=f"{server}/basic").result["status_code"] == 401
    outcome = run_http(url=f"{server}/basic", username="alice", password="pa55")
    assert outcome.status == "succeeded"
    assert outcome.result["body"] == "welcome"


def test_redirects_are_followed_only_when_allowed(server):
    not_followed = run_http(url=f"{server}/redirect")
    assert not_followed.status == "failed"  # StackStorm: only 200-206 succeed
    assert not_followed.result["status_code"] == 302
    followed = run_http(url=f"{server}/redirect", allow_redirects=True)
    assert followed.status == "succeeded"
    assert followed.result["body"] == {"ok": True}


def test_no_answer_in_time_is_a_timeout(server):
    started = time.monotonic()
    outcome = run_http(url=f"{server}/slow", timeout=0.3)
    assert time.monotonic() - started < 2
    assert outcome.status == "timeout"
    assert outcome.result == {"error": "Action failed to complete in 0.3 seconds"}


def test_cancel_ends_a_pending_request(server):
    request = request_for({"url": f"{server}/slow"}, timeout=30)
    threading.Timer(0.2, request.cancel.set).start()
    started = time.monotonic()
    outcome = get_runner("http-request").run(request)
    assert time.monotonic() - started < 2
    assert outcome.status == "canceled"


def test_connection_refused_fails_with_an_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcome = run_http(url=f"http://127.0.0.1:{port}/")
    assert outcome.status == "failed"
    assert outcome.result["error"].startswith("ConnectionError: ")


@pytest.mark.parametrize(
    "parameters, message",
    [
        (
            {"url": "file:///etc/passwd"},
            'url must be an http:// or https:// URL, got "file:///etc/passwd".',
        ),
        (
            {"url": "http://127.0.0.1/", "url_hosts_blacklist": ["127.0.0.1"]},
            'URL "http://127.0.0.1/" is blacklisted.',
        ),
        (
            {"url": "http://127.0.0.1/", "url_hosts_whitelist": ["example.com"]},
            'URL "http://127.0.0.1/" is not whitelisted.',
        ),
        (
            {"url": "http://127.0.0.1/", "auth": "x-auth-token=XYZ"},
            "The auth parameter is not supported: use username and password for basic "
            "authentication, or put the credential in headers.",
        ),
    ],
)
def test_refused_requests_fail_without_sending(parameters, message):
    outcome = run_http(**parameters)
    assert outcome.status == "failed"
    assert outcome.result == {"error": message}
