"""Tokens, API keys and login throttling for the embedded API.

Credentials are stored only as a keyed hash (HMAC-SHA256 with a key derived from the server
secret): fast enough to check on every request, useless to whoever reads the database.
"""

import hashlib
import hmac
import math
import secrets
import string
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.db.models import Q
from django.utils import timezone

from .errors import InvalidInput, TooManyRequests, Unauthorized
from .models import ApiKey, LoginFailure, Token

API_KEY_ALPHABET = string.ascii_letters + string.digits
API_KEY_LENGTH = 86  # as long as StackStorm's keys, so they fit wherever those fit


def credential_hash(raw):
    hash_key = hmac.new(settings.SECRET_KEY.encode(), b"st2bridge credential hash", "sha256")
    return hmac.new(hash_key.digest(), raw.encode(), hashlib.sha256).hexdigest()


@dataclass
class Caller:
    """Who is calling the API and how they proved it."""

    user: object
    method: str  # "authentication token" | "API key"
    location: str  # "header" | "query"
    token: Token | None = None
    api_key: ApiKey | None = None

    @property
    def username(self):
        return self.user.username

    @property
    def is_admin(self):
        return self.user.is_staff or self.user.is_superuser


# --- tokens -------------------------------------------------------------------------------


def issue_token(username, password, address, ttl=None):
    """Check the password (throttled) and return (Token, raw token)."""
    ttl = _checked_ttl(ttl)
    _refuse_if_throttled(username, address)
    user = authenticate(username=username, password=password) if username else None
    if user is None:
        _record_login_failure(username, address)
        raise Unauthorized("Invalid or missing credentials")
    raw = secrets.token_hex(16)
    token = Token.objects.create(
        user=user,
        token_hash=credential_hash(raw),
        expiry=timezone.now() + timedelta(seconds=ttl),
    )
    return token, raw


def _checked_ttl(ttl):
    maximum = settings.ST2_TOKEN_TTL
    if ttl is None:
        return maximum
    if isinstance(ttl, bool) or not isinstance(ttl, int):
        raise InvalidInput(f"ttl: {ttl!r} is not of type 'integer'")
    if ttl < 1:
        raise InvalidInput(f"ttl: {ttl} is less than the minimum of 1")
    if ttl > maximum:
        raise InvalidInput(f"TTL specified {ttl} is greater than max allowed {maximum}.")
    return ttl


def find_valid_token(raw):
    """The live Token for a raw value, or None when unknown, expired or its user is inactive."""
    token = Token.objects.select_related("user").filter(token_hash=credential_hash(raw)).first()
    if token is None or token.expiry <= timezone.now() or not token.user.is_active:
        return None
    return token


def authenticate_token(raw):
    token = Token.objects.select_related("user").filter(token_hash=credential_hash(raw)).first()
    if token is None:
        raise Unauthorized("Unauthorized")
    if token.expiry <= timezone.now():
        raise Unauthorized("Unauthorized - Token has expired.")
    if not token.user.is_active:
        raise Unauthorized("Unauthorized - User is disabled.")
    return token


def revoke_token(raw):
    Token.objects.filter(token_hash=credential_hash(raw)).delete()


# --- API keys -----------------------------------------------------------------------------


def new_api_key():
    """Return (raw key, its hash)."""
    raw = "".join(secrets.choice(API_KEY_ALPHABET) for _ in range(API_KEY_LENGTH))
    return raw, credential_hash(raw)


def authenticate_api_key(raw):
    key_hash = credential_hash(raw)
    api_key = ApiKey.objects.select_related("user").filter(key_hash=key_hash).first()
    if api_key is None:
        raise Unauthorized(f"Unauthorized - ApiKey with key_hash={key_hash} not found.")
    if not api_key.enabled:
        raise Unauthorized("Unauthorized - API key is disabled.")
    now = timezone.now()
    if api_key.expires_at is not None and api_key.expires_at <= now:
        raise Unauthorized("Unauthorized - API key has expired.")
    if not api_key.user.is_active:
        raise Unauthorized("Unauthorized - User is disabled.")
    _touch_last_used(api_key, now)
    return api_key


def _touch_last_used(api_key, now):
    """Record use at most once per interval: a conditional UPDATE, so busy keys cost no writes."""
    stale_before = now - timedelta(seconds=settings.ST2_API_KEY_LAST_USED_INTERVAL)
    if api_key.last_used_at is None or api_key.last_used_at < stale_before:
        ApiKey.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale_before), pk=api_key.pk
        ).update(last_used_at=now)
        api_key.last_used_at = now


# --- login throttling ---------------------------------------------------------------------


def _refuse_if_throttled(username, address):
    window = settings.ST2_LOGIN_FAILURE_WINDOW
    since = timezone.now() - timedelta(seconds=window)
    recent = LoginFailure.objects.filter(at__gte=since)
    for failures, limit in (
        (recent.filter(username=username), settings.ST2_LOGIN_FAILURES_PER_USER),
        (recent.filter(address=address), settings.ST2_LOGIN_FAILURES_PER_ADDRESS),
    ):
        times = list(failures.order_by("-at").values_list("at", flat=True)[:limit])
        if len(times) >= limit:
            # Blocked until the oldest of the last `limit` failures leaves the window.
            wait = (times[-1] + timedelta(seconds=window) - timezone.now()).total_seconds()
            raise TooManyRequests(
                "Too many failed login attempts; try again later.",
                retry_after=max(1, math.ceil(wait)),
            )


def _record_login_failure(username, address):
    cutoff = timezone.now() - timedelta(seconds=settings.ST2_LOGIN_FAILURE_WINDOW)
    LoginFailure.objects.filter(at__lt=cutoff).delete()
    LoginFailure.objects.create(username=username[:150], address=address[:64])
