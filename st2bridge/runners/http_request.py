"""http-request (core.http): one HTTP request; the result is {status_code, headers, body,
parsed} as StackStorm's http runner gives it (notes §4.7).

As in StackStorm, url, headers, cookies, username/password, verify_ssl_cert, allow_redirects,
proxies and the host lists are runner parameters, while method, body, params, timeout and the
file upload fields are declared by each action (see core.http). Status: succeeded for 200-206,
failed for any other code (a redirect that is not followed included), timeout when the server
does not answer in time, failed with an `error` when no answer comes at all.
"""

import concurrent.futures
import json
import threading
import time
from urllib.parse import urlparse

import requests

from .base import CANCELED, FAILED, SUCCEEDED, TIMEOUT, Runner, RunRefused, RunResult

SUCCESS_CODES = range(200, 207)
# StackStorm identifies itself with its version; this is the version the embedded API speaks
# (st2bridge.api.user.API_VERSION).
USER_AGENT = "st2/v3.9.0"
POLL_SECONDS = 0.05


class HttpRequestRunner(Runner):
    name = "http-request"
    runner_parameters = frozenset(
        {
            "allow_redirects",
            "cookies",
            "headers",
            "http_proxy",
            "https_proxy",
            "password",
            "url",
            "url_hosts_blacklist",
            "url_hosts_whitelist",
            "username",
            "verify_ssl_cert",
        }
    )

    def run(self, request):
        try:
            arguments = request_arguments(request)
        except RunRefused as refusal:
            return RunResult(FAILED, {"error": str(refusal)})
        return _send_cancelably(arguments, request)


def request_arguments(request):
    """Keyword arguments for requests.request(), checked."""
    params = request.parameters
    url = params.get("url")
    if not isinstance(url, str) or urlparse(url).scheme not in ("http", "https"):
        raise RunRefused(f'url must be an http:// or https:// URL, got "{url}".')
    _check_host_lists(url, params)
    if params.get("auth"):
        raise RunRefused(
            "The auth parameter is not supported: use username and password for basic "
            "authentication, or put the credential in headers."
        )
    headers = _headers(params.get("headers"), request.action.get("name", ""))
    data = _body(params.get("body"), headers)
    arguments = {
        "method": str(params.get("method") or "GET").upper(),
        "url": url,
        "headers": headers,
        "params": params.get("params") or None,
        "cookies": params.get("cookies") or None,
        "data": data,
        "files": _files(params),
        "timeout": params.get("timeout") or request.timeout,
        "verify": params.get("verify_ssl_cert", True),
        "allow_redirects": bool(params.get("allow_redirects", False)),
        "proxies": _proxies(params),
    }
    if params.get("username") or params.get("password"):
        arguments["auth"] = (params.get("username") or "", params.get("password") or "")
    return arguments


def _check_host_lists(url, params):
    host = urlparse(url).hostname or ""
    blacklist = params.get("url_hosts_blacklist") or []
    whitelist = params.get("url_hosts_whitelist") or []
    if blacklist and whitelist:
        raise RunRefused("url_hosts_blacklist and url_hosts_whitelist cannot both be given.")
    if host in blacklist:
        raise RunRefused(f'URL "{url}" is blacklisted.')
    if whitelist and host not in whitelist:
        raise RunRefused(f'URL "{url}" is not whitelisted.')


def _headers(given, action_name):
    if given is not None and not isinstance(given, dict):
        raise RunRefused("headers must be a mapping of header names to values.")
    headers = {str(name): str(value) for name, value in (given or {}).items()}
    headers.setdefault("User-Agent", USER_AGENT)
    headers["X-Stanley-Action"] = action_name
    return headers


def _body(body, headers):
    """Text is sent as given; anything else (a mapping, a list) as JSON, labelled as such."""
    if body is None:
        return None
    if isinstance(body, str):
        return body.encode("utf-8")
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/json"
    return json.dumps(body).encode("utf-8")


def _files(params):
    """StackStorm's upload: file_content sent as file_name. The runner never reads file_path
    itself: that would let anyone who may run core.http upload the worker's files."""
    name, content = params.get("file_name"), params.get("file_content")
    if not (name and content):
        return None
    content_type = params.get("file_content_type")
    return {name: (name, content, content_type) if content_type else (name, content)}


def _proxies(params):
    proxies = {"http": params.get("http_proxy"), "https": params.get("https_proxy")}
    return {scheme: url for scheme, url in proxies.items() if url} or None


def _send_cancelably(arguments, request):
    """The request runs in a daemon thread so that a cancel or the run's timeout can end the
    run at once; the abandoned request stops by itself at its own timeout."""
    future = concurrent.futures.Future()
    threading.Thread(target=_send, args=(arguments, future), daemon=True).start()
    deadline = None if request.timeout is None else time.monotonic() + request.timeout
    while not future.done():
        concurrent.futures.wait([future], timeout=POLL_SECONDS)
        if request.cancel.is_set():
            return RunResult(CANCELED, {"error": "Action was canceled."})
        if deadline is not None and time.monotonic() >= deadline:
            return _timed_out(request.timeout)
    return _outcome(future, arguments)


def _send(arguments, future):
    try:
        with requests.request(**arguments) as response:  # noqa: S113 (timeout is in arguments)
            future.set_result(response_result(response))
    except BaseException as error:  # handed to the waiting thread, which reports it
        future.set_exception(error)


def _outcome(future, arguments):
    try:
        result = future.result()
    except requests.Timeout:
        return _timed_out(arguments["timeout"])
    except requests.RequestException as error:
        return RunResult(FAILED, {"error": f"{type(error).__name__}: {error}"})
    status = SUCCEEDED if result["status_code"] in SUCCESS_CODES else FAILED
    return RunResult(status, result)


def _timed_out(seconds):
    # Without a timeout of ours, the operating system's connect timeout fired.
    limit = f" in {seconds:g} seconds" if seconds else ""
    return RunResult(TIMEOUT, {"error": f"Action failed to complete{limit}"})


def response_result(response):
    headers = dict(response.headers)
    body, parsed = _parsed_body(response)
    return {"status_code": response.status_code, "body": body, "parsed": parsed, "headers": headers}


def _parsed_body(response):
    """JSON bodies (by Content-Type, as StackStorm) become values; others stay text, and so
    does a body that claims to be JSON but is not."""
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return response.text, False
    try:
        return json.loads(response.text), True
    except ValueError:
        return response.text, False
