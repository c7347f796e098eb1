"""Tokens, API keys and login throttling for the embedded API.

Credentials are stored only as a keyed hash (HMAC-SHA256 with a key derived from the server
secret): fast enough to check on every request, useless to whoever reads the database.

The login throttle (below) serves POST /auth/v1/tokens, the portal's /login (which signs in
through it) and /admin/login/ (st2bridge.admin). It is this module's rather than django-axes's:
axes locks out by counters reset on success and checks inside Django's authenticate(), which
needs the request passed through (the token endpoint has no form, and the portal's sign-in
reaches it over HTTP); it reads the client's address with its own proxy settings, where ours
must also believe the portal's signed address header (st2bridge.addresses); and it cannot say
"the account's failures count only against addresses that failed themselves". The rules here
take some forty lines over the LoginFailure table we already had, with no new dependency,
middleware or migration.
"""

import functools
import hashlib
import hmac
import math
import secrets
import string
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import audit, rows
from .addresses import throttle_key
from .constants import SYSTEM_USER
from .errors import InvalidInput, TooManyRequests, Unauthorized
from .formats import isotime
from .models import ApiKey, LoginFailure, Token

API_KEY_ALPHABET = string.ascii_letters + string.digits
API_KEY_LENGTH = 86  # as long as StackStorm's keys, so they fit wherever those fit


def credential_hash(raw):
    return hmac.new(_hash_key(settings.SECRET_KEY), raw.encode(), hashlib.sha256).hexdigest()


@functools.lru_cache(maxsize=4)
def _hash_key(secret_key):
    """The key of credential_hash(), derived from the server secret (once per secret)."""
    return hmac.new(secret_key.encode(), b"st2bridge credential hash", "sha256").digest()


@dataclass
class Caller:
    """Who is calling the API and how they proved it."""

    user: object
    method: str  # "authentication token" | "API key"
    location: str  # "header" | "query" | "cookie" (event streams only)
    token: Token | None = None
    api_key: ApiKey | None = None
    address: str = ""  # the client's, as addresses.login_address() finds it (the audit log's)

    @property
    def username(self):
        return self.user.username

    @property
    def is_admin(self):
        return self.user.is_staff or self.user.is_superuser


def is_admin_username(username):
    """True for an active staff user or superuser; also for the system user of pack rules
    while no account bears its name (only admins register packs), as st2bridge.teams has it."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        return username == SYSTEM_USER
    return user.is_active and (user.is_staff or user.is_superuser)


# --- tokens -------------------------------------------------------------------------------


def issue_token(username, password, address, ttl=None):
    """Check the password (throttled) and return (Token, raw token)."""
    ttl = _checked_ttl(ttl)
    refuse_if_throttled(username, address)
    user = authenticate(username=username, password=password) if username else None
    if user is None:
        record_login_failure(username, address)
        raise Unauthorized("Invalid or missing credentials")
    raw = secrets.token_hex(16)
    with transaction.atomic():
        token = Token.objects.create(
            user=user,
            token_hash=credential_hash(raw),
            expiry=timezone.now() + timedelta(seconds=ttl),
        )
        audit.record(_actor(token, address), "auth.signin", "token", token.id)
    return token, raw


def _actor(token, address):
    return audit.Actor(token.user.username, address, audit.credential_of(token=token))


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
    token = rows.select_with_user(Token, "token_hash", credential_hash(raw))
    if token is None or token.expiry <= timezone.now() or not token.user.is_active:
        return None
    return token


def authenticate_token(raw):
    """The Token a raw value names, checked on every request: nothing is cached, so a revoked
    token, an expired one or one of a deactivated user is refused on the very next request
    (in every process). One SELECT with its user (rows.select_with_user)."""
    token = rows.select_with_user(Token, "token_hash", credential_hash(raw))
    if token is None:
        raise Unauthorized("Unauthorized")
    if token.expiry <= timezone.now():
        raise Unauthorized("Unauthorized - Token has expired.")
    if not token.user.is_active:
        raise Unauthorized("Unauthorized - User is disabled.")
    return token


def revoke_token(raw):
    Token.objects.filter(token_hash=credential_hash(raw)).delete()


def sign_out(token, address):
    """End `token` (POST /auth/v1/tokens/revoke: whoever holds it may), from `address`."""
    with transaction.atomic():
        Token.objects.filter(pk=token.pk).delete()
        audit.record(_actor(token, address), "auth.signout", "token", token.id)


def issue_action_token(username, seconds, execution_id):
    """(Token, raw token) for an execution's action process (ST2_ACTION_AUTH_TOKEN): the
    execution's user, valid `seconds` (the action's timeout and a little more; the worker
    revokes it when the action ends). (None, None) when the user has no active account, as
    the system user of rules from pack directories may not."""
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        return None, None
    raw = secrets.token_hex(16)
    token = Token.objects.create(
        user=user,
        token_hash=credential_hash(raw),
        expiry=timezone.now() + timedelta(seconds=seconds),
        metadata={"service": "action", "execution_id": execution_id},
    )
    return token, raw


# --- API keys -----------------------------------------------------------------------------


def new_api_key():
    """Return (raw key, its hash)."""
    raw = "".join(secrets.choice(API_KEY_ALPHABET) for _ in range(API_KEY_LENGTH))
    return raw, credential_hash(raw)


def authenticate_api_key(raw):
    """The ApiKey a raw key names, checked as authenticate_token() checks tokens."""
    key_hash = credential_hash(raw)
    api_key = rows.select_with_user(ApiKey, "key_hash", key_hash)
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
#
# Failed sign-ins are kept for ST2_LOGIN_FAILURE_WINDOW seconds (LoginFailure). A sign-in is
# refused (429 with Retry-After) before its password is looked at while its address has
#   - ST2_LOGIN_FAILURES_PER_USER failures for this username: a guesser's backoff, for that
#     (username, address) pair only;
#   - ST2_LOGIN_FAILURES_PER_ADDRESS failures for any usernames: an address spraying names;
#   - at least one failure for this username, while the username has
#     ST2_LOGIN_FAILURES_PER_ACCOUNT failures from all addresses together: a guesser with many
#     addresses gets one guess per address.
# An address with no failures of its own is never refused: failures sent from elsewhere, under
# anyone's name, cannot lock anyone out. A limit of 0 turns its rule off. Addresses are counted
# as addresses.throttle_key() says (IPv6 by /64).


def refuse_if_throttled(username, address):
    """Raise TooManyRequests while `username` may not try a password from `address`."""
    address = throttle_key(address)
    now = timezone.now()
    window = timedelta(seconds=settings.ST2_LOGIN_FAILURE_WINDOW)
    recent = LoginFailure.objects.filter(at__gte=now - window)
    from_here = recent.filter(address=address)
    here = _latest(from_here, settings.ST2_LOGIN_FAILURES_PER_ADDRESS)
    if not here:
        return
    pair = _latest(from_here.filter(username=username), settings.ST2_LOGIN_FAILURES_PER_USER)
    account = _latest(recent.filter(username=username), settings.ST2_LOGIN_FAILURES_PER_ACCOUNT)
    ends = [
        _limit_ends(here, settings.ST2_LOGIN_FAILURES_PER_ADDRESS, window),
        _limit_ends(pair, settings.ST2_LOGIN_FAILURES_PER_USER, window),
    ]
    account_ends = _limit_ends(account, settings.ST2_LOGIN_FAILURES_PER_ACCOUNT, window)
    if pair and account_ends is not None:  # until either drops out of the window
        ends.append(min(account_ends, pair[0] + window))
    ends = [end for end in ends if end is not None]
    if ends:
        wait = (max(ends) - now).total_seconds()
        raise TooManyRequests(
            "Too many failed login attempts; try again later.",
            retry_after=max(1, math.ceil(wait)),
        )


def record_login_failure(username, address):
    """Count a wrong password for `username` from `address` (and forget expired failures);
    the audit log keeps it (the name tried, never the password)."""
    cutoff = timezone.now() - timedelta(seconds=settings.ST2_LOGIN_FAILURE_WINDOW)
    with transaction.atomic():
        LoginFailure.objects.filter(at__lt=cutoff).delete()
        LoginFailure.objects.create(username=username[:150], address=throttle_key(address))
        audit.record(audit.Actor(username, address), "auth.signin_failed", "user", username)


def _latest(failures, limit):
    """The times of the last `limit` failures (at least the last one), newest first."""
    return list(failures.order_by("-at").values_list("at", flat=True)[: max(limit, 1)])


def _limit_ends(times, limit, window):
    """When a rule of `limit` failures stops refusing: as the oldest of the last `limit`
    failures leaves the window; None when there are fewer."""
    if limit < 1 or len(times) < limit:
        return None
    return times[-1] + window


# --- the API shapes (st2bridge.shapes.TOKEN, USER) --------------------------------------------


def token_to_api(token, raw):
    return {
        "id": token.id,
        "user": token.user.username,
        "token": raw,
        "expiry": isotime(token.expiry),
        "metadata": token.metadata,
        "service": False,
    }


def caller_to_api(caller):
    """Who is calling, in the shape `st2 whoami` reads."""
    authentication = {"method": caller.method, "location": caller.location}
    if caller.token is not None:
        authentication["token_expire"] = caller.token.expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "username": caller.username,
        "authentication": authentication,
        "rbac": {
            "enabled": False,
            "roles": ["admin"] if caller.is_admin else [],
            "is_admin": caller.is_admin,
        },
    }
