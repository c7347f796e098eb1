"""Who is signed in to the portal, and the StackStorm client that acts for them.

The StackStorm token lives only in the server-side session (SESSION_TOKEN); the browser holds
nothing but the session and CSRF cookies. Views use `st2_login_required`, which gives them
`request.st2` (a St2Client carrying the token), `request.st2_user` (the username) and
`request.st2_extensions` (what the server offers beyond StackStorm's API, asked when read).
"""

import logging
import time
from functools import partial, wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme

from st2bridge.addresses import client_address
from st2bridge.client import ApiError, ApiUnauthorized, ApiUnavailable, St2Client

log = logging.getLogger(__name__)

SESSION_TOKEN = "st2_token"  # noqa: S105 - a session key name, not a secret
SESSION_USER = "st2_user"
SESSION_ADMIN = "st2_is_admin"
EXPIRED_MESSAGE = "Your session has expired. Please sign in again."
EXTENSIONS_TTL = 300  # seconds a server's answer to GET /extensions is kept (per process)
_extensions_seen = {}  # api_url -> (monotonic time it expires, extensions)


def sign_in(request, token, is_admin):
    """Start a fresh session holding the token, ending with it: a new key (no fixation) and
    nothing of the previous one, such as another user's sign-in to the Django admin."""
    request.session.flush()
    request.session[SESSION_TOKEN] = token["token"]
    request.session[SESSION_USER] = token["user"]
    request.session[SESSION_ADMIN] = bool(is_admin)
    expiry = parse_datetime(token.get("expiry") or "")
    if expiry is not None:
        request.session.set_expiry(expiry)


def on_behalf_of(request):
    """(the browser's address, the signed-in username): the embedded API records that address
    in its audit log for what the portal does for this user (St2Client)."""
    address = client_address(request.META, settings.PORTAL_TRUSTED_PROXIES)
    return address, request.session.get(SESSION_USER)


def forget_token(request):
    for key in (SESSION_TOKEN, SESSION_USER, SESSION_ADMIN):
        request.session.pop(key, None)
    request.session.cycle_key()


def extensions(client):
    """What the configured server offers beyond StackStorm's API (St2Client.extensions): all
    of it from this project's embedded API, nothing from a StackStorm server. Pages show what
    is missing as unavailable. Asked once per process every EXTENSIONS_TTL seconds."""
    expires, found = _extensions_seen.get(client.api_url, (0, None))
    if time.monotonic() >= expires:
        found = client.extensions()
        _extensions_seen[client.api_url] = (time.monotonic() + EXTENSIONS_TTL, found)
    return found


def offered(client):
    """extensions(client), or nothing when the server cannot say (unreachable, or refusing):
    a page (the unavailable page too) shows what is missing as unavailable."""
    try:
        return extensions(client)
    except ApiError:
        return {}


def template_extensions(request):
    """Context processor: `st2_extensions` for every page of a signed-in user, for templates
    that show what the server offers; pages outside st2_login_required probe
    with the session's token, and a failed probe offers nothing."""
    if hasattr(request, "st2_extensions"):
        return {"st2_extensions": request.st2_extensions}
    token = request.session.get(SESSION_TOKEN) if hasattr(request, "session") else None
    if not token:
        return {}

    def probe():
        with St2Client.from_settings(token=token) as client:
            return offered(client)

    return {"st2_extensions": SimpleLazyObject(probe)}


def public_api_url(request):
    """The API's URL as people reach it: the remote's, or this site's own /api/v1 (the portal
    itself reaches the embedded API over loopback, a URL no one else can use)."""
    if settings.ST2_API_URL:
        return request.st2.api_url
    return request.build_absolute_uri("/api/v1")


def safe_next(request, target):
    """`target` when it points into this site, else None."""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and allowed else None


def _to_login(request):
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = redirect_to_login(request.get_full_path())["Location"]
        return response
    return redirect_to_login(request.get_full_path())


def st2_login_required(view):
    """Require a signed-in user; turn API refusals into the portal's answers: 401 (token
    expired or revoked) -> back to the login page with a message, 404 -> 404, 403 -> 403,
    no answer -> 502 page.
    Anything else propagates (and is logged as a 500)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        token = request.session.get(SESSION_TOKEN)
        if not token:
            return _to_login(request)
        request.st2_user = request.session.get(SESSION_USER)
        request.st2_is_admin = request.session.get(SESSION_ADMIN, False)
        with St2Client.from_settings(
            token=token, on_behalf_of=on_behalf_of(request)
        ) as request.st2:
            request.st2_extensions = SimpleLazyObject(partial(offered, request.st2))
            try:
                return view(request, *args, **kwargs)
            except ApiUnauthorized:
                forget_token(request)
                messages.warning(request, EXPIRED_MESSAGE)
                return _to_login(request)
            except ApiUnavailable as error:
                log.warning("StackStorm API unavailable: %s", error.faultstring)
                return render(request, "portal/unavailable.html", status=502)
            except ApiError as error:
                if error.status == 404:
                    raise Http404(error.faultstring) from error
                if error.status == 403:
                    raise PermissionDenied(error.faultstring) from error
                raise

    return wrapper
