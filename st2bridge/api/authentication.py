"""Credentials on /api/v1 and /stream/v1, as small ordered DRF classes.

StackStorm's order: X-Auth-Token header, St2-Api-Key header, x-auth-token query parameter,
st2-api-key query parameter, then the `auth-token` cookie. The first credential present
decides: an absent one passes to the next class, a bad one is refused at once. Validity is
checked on every request (no cache), so a disabled key or deactivated user is refused on the
very next call.

The cookie (issue 17). A browser's EventSource cannot send headers, so StackStorm answers a
token-authenticated request with an httponly `auth-token` cookie holding the token, which
st2web's event streams then carry. StackStorm accepts that cookie on every route; here it is
accepted only by the stream views (GET on /stream/..., which read and change nothing), so a
page on another site that makes the browser send it gets 401 everywhere else: the API stays
immune to cross-site request forgery. The cookie is scoped to the stream paths, httponly,
SameSite (Lax by default, ST2_AUTH_COOKIE_SAMESITE), Secure when the request came over TLS,
and expires with its token.
"""

from django.conf import settings
from django.urls import get_script_prefix
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from st2bridge import auth
from st2bridge.addresses import login_address
from st2bridge.errors import St2Error

TOKEN = "authentication token"  # noqa: S105 - a method name, not a secret
API_KEY = "API key"
COOKIE = "auth-token"


class _Credential(authentication.BaseAuthentication):
    method = None
    location = None

    def raw_value(self, request):
        raise NotImplementedError

    def authenticate(self, request):
        raw = self.raw_value(request)
        if not raw:
            return None  # absent: let the next class look
        try:
            caller = self.check(raw)
        except St2Error as error:
            raise exceptions.AuthenticationFailed(error.message) from None
        caller.address = request_address(request, caller.username)
        return caller.user, caller

    def check(self, raw):
        if self.method == TOKEN:
            token = auth.authenticate_token(raw)
            return auth.Caller(token.user, TOKEN, self.location, token=token)
        api_key = auth.authenticate_api_key(raw)
        return auth.Caller(api_key.user, API_KEY, self.location, api_key=api_key)

    def authenticate_header(self, request):
        return "X-Auth-Token"  # makes DRF answer 401 rather than 403


class TokenHeaderAuthentication(_Credential):
    method, location = TOKEN, "header"

    def raw_value(self, request):
        return request.headers.get("X-Auth-Token")


class ApiKeyHeaderAuthentication(_Credential):
    method, location = API_KEY, "header"

    def raw_value(self, request):
        return request.headers.get("St2-Api-Key")


class TokenQueryAuthentication(_Credential):
    method, location = TOKEN, "query"

    def raw_value(self, request):
        return request.query_params.get("x-auth-token")


class ApiKeyQueryAuthentication(_Credential):
    method, location = API_KEY, "query"

    def raw_value(self, request):
        return request.query_params.get("st2-api-key")


class TokenCookieAuthentication(_Credential):
    """The `auth-token` cookie, last in the order; only the stream views use this class
    (st2bridge.api.stream), and it looks at GET requests only."""

    method, location = TOKEN, "cookie"

    def raw_value(self, request):
        if request.method != "GET":
            return None
        return request.COOKIES.get(COOKIE)


def request_address(request, username):
    """The address `username` calls from, for the audit log: the one the portal vouched for
    (its users reach the API through it), else the peer's, or what PORTAL_TRUSTED_PROXIES
    forwarded (st2bridge.addresses)."""
    return login_address(request.META, username, settings.PORTAL_TRUSTED_PROXIES)


def cookie_path():
    """The paths the cookie goes to: the stream service's, under this site's prefix."""
    return f"{get_script_prefix()}stream"


def set_token_cookie(response, request, raw, expiry):
    """Give the browser the `auth-token` cookie for the token `raw`, expiring with it."""
    response.set_cookie(
        COOKIE,
        raw,
        max_age=max(0, int((expiry - timezone.now()).total_seconds())),
        path=cookie_path(),
        secure=request.is_secure(),
        httponly=True,
        samesite=settings.ST2_AUTH_COOKIE_SAMESITE,
    )


def refresh_token_cookie(response, request):
    """After a request authenticated by a token in its header or query (StackStorm's
    x-set-cookie), set the cookie to that token unless the browser already holds it. Only on
    success: a refusal may come before authentication ran (an unknown method is 404 first)."""
    if response.status_code >= 400:
        return
    caller = request.auth
    if caller is None or caller.method != TOKEN or caller.location not in ("header", "query"):
        return
    raw = (
        request.headers.get("X-Auth-Token")
        if caller.location == "header"
        else request.query_params.get("x-auth-token")
    )
    if raw and request.COOKIES.get(COOKIE) != raw:
        set_token_cookie(response, request, raw, caller.token.expiry)


class CallerRequired(permissions.BasePermission):
    message = "Unauthorized - One of Token or API key required."

    def has_permission(self, request, view):
        return request.auth is not None
