"""Credentials on /api/v1 and /stream/v1, as small ordered DRF classes.

StackStorm's order: X-Auth-Token header, St2-Api-Key header, x-auth-token query parameter,
st2-api-key query parameter. The first credential present decides: an absent one passes to
the next class, a bad one is refused at once. Validity is checked on every request (no cache),
so a disabled key or deactivated user is refused on the very next call.
"""

from rest_framework import authentication, exceptions, permissions

from st2bridge import auth
from st2bridge.errors import St2Error

TOKEN = "authentication token"  # noqa: S105 - a method name, not a secret
API_KEY = "API key"


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


class CallerRequired(permissions.BasePermission):
    message = "Unauthorized - One of Token or API key required."

    def has_permission(self, request, view):
        return request.auth is not None
