"""/auth/v1/tokens: trade a Django user's password for a StackStorm token (notes §2.2-2.3),
check one, and revoke one (an extension: StackStorm's tokens live until they expire; the
portal's "Log out" ends its token here, and ignores a server that cannot). As st2auth, also
served without the version: /auth/tokens, ... (what st2web calls with no `hosts` set).

A new token also comes as the `auth-token` cookie, which only event streams accept
(st2bridge.api.authentication): a browser that signs in on this origin can open them."""

import base64
import binascii

from django.conf import settings
from rest_framework.response import Response

from st2bridge import auth
from st2bridge.addresses import login_address
from st2bridge.errors import InvalidInput, Unauthorized

from .authentication import request_address, set_token_cookie
from .base import ApiView, json_body, route

BAD_CREDENTIALS = "Invalid or missing credentials"


def basic_credentials(request):
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise Unauthorized(BAD_CREDENTIALS)
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized(BAD_CREDENTIALS) from None
    username, colon, password = decoded.partition(":")
    if not colon or not username:
        raise Unauthorized(BAD_CREDENTIALS)
    return username, password


class TokenCreate(ApiView):
    authentication_classes = []
    permission_classes = []

    def post(self, request):
        username, password = basic_credentials(request)
        ttl = json_body(request).get("ttl")
        address = login_address(request.META, username, settings.PORTAL_TRUSTED_PROXIES)
        token, raw = auth.issue_token(username, password, address, ttl)
        response = Response(auth.token_to_api(token, raw), status=201)
        response["X-API-URL"] = request.build_absolute_uri("/api/v1")
        set_token_cookie(response, request, raw, token.expiry)
        return response


class TokenValidate(ApiView):
    def post(self, request):
        token = json_body(request).get("token")
        if not token or not isinstance(token, str):
            raise InvalidInput("Token is not provided.")
        return Response({"valid": auth.find_valid_token(token) is not None})


class TokenRevoke(ApiView):
    """The token in the body is the credential: whoever holds it may end it."""

    authentication_classes = []
    permission_classes = []

    def post(self, request):
        token = json_body(request).get("token")
        if not token or not isinstance(token, str):
            raise InvalidInput("token: a token to revoke is required.")
        found = auth.find_valid_token(token)
        if found is None:
            raise Unauthorized("Unauthorized")
        auth.sign_out(found, request_address(request, found.user.username))
        return Response(status=204)


urlpatterns = [
    route(r"auth/(?:v1/)?tokens", TokenCreate),
    route(r"auth/(?:v1/)?tokens/validate", TokenValidate),
    route(r"auth/(?:v1/)?tokens/revoke", TokenRevoke),
]
