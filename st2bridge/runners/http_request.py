"""http-request (core.http): one HTTP request; the result is {status_code, headers, body,
parsed} as StackStorm's http runner gives it (notes §4.7).

As in StackStorm, url, headers, cookies, username/password, verify_ssl_cert, allow_redirects,
proxies and the host lists are runner parameters, while method, body, params, timeout and the
file upload fields are declared by each action (see core.http). Status: succeeded for 200-206,
failed for any other code (a redirect that is not followed included), timeout when the server
does not answer in time, failed with an `error` when no answer comes at all.

Local addresses (RunRequest.protect_local_addresses, set by the worker for non-staff users
while ST2_HTTP_PROTECT_LOCAL is on): the run fails, naming the address, rather than connect to
loopback, link-local (cloud metadata at 169.254.169.254 included), unspecified or other cloud
metadata addresses, IPv4-mapped and NAT64 forms included. The check is made when each
connection opens, on the address it then connects to, so a name that resolves differently
the second time (DNS rebinding) and every redirect hop are checked too; the Host header and
TLS name stay the URL's. Such runs use no proxy (the proxy would choose the address) and
nothing from the worker's environment (proxy variables, ~/.netrc). Private networks (10/8,
192.168/16, ...) and this machine's other addresses are not refused: that is the network's
policy to set.
"""

import concurrent.futures
import ipaddress
import json
import socket
import threading
import time
from urllib.parse import urlparse

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import create_connection

from .base import CANCELED, FAILED, SUCCEEDED, TIMEOUT, Runner, RunRefused, RunResult

SUCCESS_CODES = range(200, 207)
# StackStorm identifies itself with its version; this is the version the embedded API speaks
# (st2bridge.api.user.API_VERSION).
USER_AGENT = "st2/v3.9.0"
POLL_SECONDS = 0.05
# What a protected run may not connect to, by kind (ipaddress's own tests come first).
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack... (link-local too)
    ipaddress.ip_address("fd00:ec2::254"),  # AWS (IPv6)
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("168.63.129.16"),  # Azure's host endpoint
}
THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # 0.0.0.0 reaches this machine on Linux
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # IPv4 addresses reached through a translator


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


class LocalAddressRefused(Exception):
    """A protected run was about to connect to a local address."""

    def __init__(self, host, address, kind):
        shown = host if host == str(address) else f"{host} ({address})"
        article = "an" if kind[0] in "aeiou" else "a"
        super().__init__(
            f"Refused to connect to {shown}: {article} {kind} address. Only staff may reach "
            "loopback, link-local and cloud metadata addresses (ST2_HTTP_PROTECT_LOCAL)."
        )


def local_kind(address):
    """What kind of local address `address` (an ipaddress object) is, or None."""
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in NAT64:
        address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in METADATA_ADDRESSES:
        return "cloud metadata"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_unspecified or address in THIS_NETWORK:
        return "unspecified"
    return None


def checked_addresses(host, port):
    """The addresses `host` resolves to, refused when any of them is local."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    for text in addresses:
        kind = local_kind(ipaddress.ip_address(text.split("%")[0]))
        if kind is not None:
            raise LocalAddressRefused(host, text, kind)
    return addresses


class _CheckedConnectionMixin:
    """Connects only to addresses checked by checked_addresses(), the very ones it resolved.
    urllib3's own _new_conn() does the same with the name, which it resolves again."""

    def _new_conn(self):
        try:
            addresses = checked_addresses(self._dns_host, self.port)
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error
        failure = None
        for address in addresses:
            try:
                return create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as error:
                failure = ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
                )
                failure.__cause__ = error
            except OSError as error:
                failure = NewConnectionError(self, f"Failed to establish a new connection: {error}")
                failure.__cause__ = error
        raise failure


class _CheckedHTTPConnection(_CheckedConnectionMixin, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_CheckedConnectionMixin, HTTPSConnection):
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class LocalAddressesRefusedAdapter(HTTPAdapter):
    """A requests transport whose every connection is checked by checked_addresses()."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _CheckedHTTPPool,
            "https": _CheckedHTTPSPool,
        }

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        raise RunRefused("Proxies cannot be used while local addresses are protected.")


def request_arguments(request):
    """Keyword arguments for requests.request(), checked."""
    params = request.parameters
    url = params.get("url")
    if not isinstance(url, str) or urlparse(url).scheme not in ("http", "https"):
        raise RunRefused(f'url must be an http:// or https:// URL, got "{url}".')
    _check_host_lists(url, params)
    if request.protect_local_addresses and _proxies(params):
        raise RunRefused(
            "http_proxy and https_proxy cannot be used by non-staff users while local "
            "addresses are protected (ST2_HTTP_PROTECT_LOCAL): the proxy would choose the "
            "address."
        )
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
    session = _session(request.protect_local_addresses)
    threading.Thread(target=_send, args=(session, arguments, future), daemon=True).start()
    deadline = None if request.timeout is None else time.monotonic() + request.timeout
    while not future.done():
        concurrent.futures.wait([future], timeout=POLL_SECONDS)
        if request.cancel.is_set():
            return RunResult(CANCELED, {"error": "Action was canceled."})
        if deadline is not None and time.monotonic() >= deadline:
            return _timed_out(request.timeout)
    return _outcome(future, arguments)


def _session(protect_local_addresses):
    session = requests.Session()
    if protect_local_addresses:
        session.trust_env = False  # no proxy variables, no ~/.netrc credentials
        adapter = LocalAddressesRefusedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session


def _send(session, arguments, future):
    try:
        with session, session.request(**arguments) as response:
            future.set_result(response_result(response))
    except BaseException as error:  # handed to the waiting thread, which reports it
        future.set_exception(error)


def _outcome(future, arguments):
    try:
        result = future.result()
    except (LocalAddressRefused, RunRefused) as refusal:
        return RunResult(FAILED, {"error": str(refusal)})
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
