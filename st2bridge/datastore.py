"""The key-value datastore (notes §7): scopes, owners, secrets encrypted at rest and expiry.
Who reads and changes which items is decided here, by scope and owner; what only admins may do
is refused through st2bridge.access.

Secret values are stored as Fernet tokens made with settings.ST2_DATASTORE_KEY and decrypted
only on request. Expired items are left out of every query and deleted on the next write.
"""

import logging
from datetime import timedelta

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Left
from django.utils import timezone

from . import access, audit
from .bodies import check_body
from .errors import InvalidInput, NotFound, St2Error
from .formats import isotime, without_nulls
from .models import KeyValuePair

log = logging.getLogger(__name__)

SYSTEM = KeyValuePair.SYSTEM
USER = KeyValuePair.USER
ALL = "all"
SCOPES = {"system": SYSTEM, SYSTEM: SYSTEM, "user": USER, USER: USER}
ALLOWED_SCOPES = ["system", "user", SYSTEM, USER]

MAX_TTL = 100 * 365 * 86400  # a century, in seconds: later dates overflow

PUT_SCHEMA = {
    "type": "object",
    "required": ["name", "value"],
    "properties": {
        "name": {"type": "string"},
        "value": {"type": "string"},
        "secret": {"type": "boolean"},
        "encrypted": {"type": "boolean"},
        "scope": {"type": "string"},
        "ttl": {"type": "integer", "minimum": 1, "maximum": MAX_TTL},
        "user": {"type": ["string", "null"]},
        "description": {"type": ["string", "null"]},
        # What a client read back may carry; accepted and ignored (the server sets them).
        "id": {"type": "string"},
        "uid": {"type": "string"},
        "expire_timestamp": {"type": ["string", "null"]},
    },
    "additionalProperties": False,
}


class UndecryptableValue(St2Error):
    """A stored secret that the configured key cannot open (the key was changed)."""

    status = 500


# --- scopes and owners --------------------------------------------------------------------


def full_scope(scope, listing=False):
    """'system'/'user' in short or st2kv.* form -> st2kv.*; empty means system; 'all' is a
    listing scope (elsewhere it means system, as StackStorm treats it)."""
    if not scope:
        return SYSTEM
    if scope == ALL:
        return ALL if listing else SYSTEM
    if scope not in SCOPES:
        raise InvalidInput(f"Scope {scope} is not in allowed scopes list: {ALLOWED_SCOPES}.")
    return SCOPES[scope]


def _owner(caller, user):
    """Whose user-scoped items a request means: the caller's, or another user's for admins."""
    if not user or user == caller.username:
        return caller.username
    access.require_admin(caller, refusal='"user" attribute can only be provided by admins')
    _check_length("user", user, "owner")
    return user


def _target(caller, scope, user):
    """(scope, owner) of a read or delete; naming a user implies the user scope."""
    scope = USER if user else full_scope(scope)
    owner = _owner(caller, user)
    return scope, owner if scope == USER else ""


def _check_decrypt(caller, scope, decrypt):
    if decrypt and scope != USER:
        access.require_admin(caller, refusal="Decrypt option requires administrator access")


def _check_write(caller, scope):
    if scope != USER:
        access.require_admin(
            caller, refusal="Administrator access required to change system-scoped keys"
        )


def _check_length(label, value, field):
    limit = KeyValuePair._meta.get_field(field).max_length
    if len(value) > limit:
        raise InvalidInput(f"{label}: longer than {limit} characters")


# --- queries ------------------------------------------------------------------------------


def _live():
    now = timezone.now()
    return KeyValuePair.objects.filter(
        Q(expire_timestamp__isnull=True) | Q(expire_timestamp__gt=now)
    )


def purge_expired():
    """Delete expired items; called on every write, and fit for a periodic job."""
    KeyValuePair.objects.filter(expire_timestamp__lte=timezone.now()).delete()


def _live_item(scope, owner, name):
    item = _live().filter(scope=scope, owner=owner, name=name).first()
    if item is None:
        raise NotFound(f"KeyValuePair with name: {name} and scope: {scope} not found in db.")
    return item


def _starting_with(items, prefix):
    # A case-sensitive prefix match on every database (SQLite's LIKE ignores case).
    return items.annotate(name_head=Left("name", len(prefix))).filter(name_head=prefix)


LIST_ORDER = ("scope", "created_at", "id")  # system items first, each in insertion order


def list_items(caller, *, scope=None, user=None, prefix="", name="", decrypt=False):
    """Live items the caller may read: system items, then the owner's user items."""
    scope = USER if user else full_scope(scope, listing=True)
    owner = _owner(caller, user)
    _check_decrypt(caller, scope, decrypt)
    wanted = Q()
    if scope in (SYSTEM, ALL):
        wanted |= Q(scope=SYSTEM)
    if scope in (USER, ALL):
        wanted |= Q(scope=USER, owner=owner)
    items = _live().filter(wanted)
    if prefix:
        items = _starting_with(items, prefix)
    if name:
        items = items.filter(name=name)
    return items.order_by(*LIST_ORDER)


def find_item(caller, name, *, scope=None, user=None, decrypt=False):
    scope, owner = _target(caller, scope, user)
    _check_decrypt(caller, scope, decrypt)
    return _live_item(scope, owner, name)


def get_item(scope, name, owner=None):
    """The live item or None, for template rendering (st2kv.system.x). No access checks: the
    caller decides whose user scope (owner) is read and whether a secret may be decrypted."""
    scope = full_scope(scope)
    if scope == USER and not owner:
        raise ValueError("owner is required to read a user-scoped item")
    return _live().filter(scope=scope, owner=owner if scope == USER else "", name=name).first()


def get_value(scope, name, owner=None, decrypt=False):
    """The value of a live item or None (see get_item). Secrets stay ciphertext unless decrypt
    is true."""
    item = get_item(scope, name, owner)
    return None if item is None else shown_value(item, decrypt)[0]


# --- writes -------------------------------------------------------------------------------


def set_item(caller, name, body, scope=None):
    """Create or replace an item (PUT); the path name wins and body scope beats the query."""
    _check_value_is_string(body)
    check_body(body, PUT_SCHEMA)
    _check_length("name", name, "name")
    scope = full_scope(body.get("scope") or scope)
    owner = _owner(caller, body.get("user"))
    _check_write(caller, scope)
    secret, value = _stored_value(caller, name, body)
    ttl = body.get("ttl")
    fields = {
        "value": value,
        "secret": secret,
        "description": body.get("description") or "",
        "expire_timestamp": timezone.now() + timedelta(seconds=ttl) if ttl else None,
    }
    purge_expired()
    owner = owner if scope == USER else ""
    with transaction.atomic():
        item, _ = KeyValuePair.objects.update_or_create(
            scope=scope, owner=owner, name=name, defaults=fields
        )
        audit.record(caller, "key.set", "key", _audit_ref(item), {"secret": [None, secret]})
    log.info("Datastore item set: %s %s:%s by %s", scope, owner, name, caller.username)
    return item


def delete_item(caller, name, *, scope=None, user=None):
    scope, owner = _target(caller, scope, user)
    _check_write(caller, scope)
    purge_expired()
    item = _live_item(scope, owner, name)
    with transaction.atomic():
        item.delete()
        audit.record(caller, "key.delete", "key", _audit_ref(item))
    log.info("Datastore item deleted: %s %s:%s by %s", scope, owner, name, caller.username)


def _audit_ref(item):
    """How the audit log names an item (its name, never its value): scope:owner:name."""
    return f"{item.scope}:{item.owner}:{item.name}" if item.owner else f"{item.scope}:{item.name}"


def _check_value_is_string(body):
    # Checked before the schema so that the error never quotes the (maybe secret) value.
    if "value" in body and not isinstance(body["value"], str):
        raise InvalidInput("value: is not of type 'string'")


def _stored_value(caller, name, body):
    """(secret, value as stored): plain, encrypted here, or pre-encrypted and verified."""
    if body.get("encrypted"):
        access.require_admin(caller, refusal="Pre-encrypted option requires administrator access")
        _verify_token(name, body["value"])
        return True, body["value"]
    if body.get("secret"):
        return True, encrypt(body["value"])
    return False, body["value"]


def _verify_token(name, token):
    try:
        decrypt(token)
    except (InvalidToken, UnicodeError):
        raise InvalidInput(
            f'Failed to verify the integrity of the provided value for key "{name}".'
        ) from None


# --- encryption ---------------------------------------------------------------------------


def _fernet():
    """ST2_DATASTORE_KEY holds one Fernet key, or several separated by commas while a key is
    rotated: the first encrypts, any of them decrypts (rotate_datastore_key re-encrypts)."""
    keys = [key.strip() for key in settings.ST2_DATASTORE_KEY.split(",") if key.strip()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (TypeError, ValueError) as error:
        raise ImproperlyConfigured(f"ST2_DATASTORE_KEY is not a Fernet key: {error}") from None


def encrypt(plaintext):
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token):
    """Plaintext of a Fernet token; raises InvalidToken when it was not made with our keys."""
    return _fernet().decrypt(token.encode()).decode()


def reencrypt(token):
    """The same plaintext encrypted with the current (first) key."""
    return _fernet().rotate(token.encode()).decode()


def shown_value(item, decrypt_secret):
    """(value, encrypted): secrets stay ciphertext unless decryption is asked for."""
    if not item.secret:
        return item.value, False
    if not decrypt_secret:
        return item.value, True
    try:
        return decrypt(item.value), False
    except (InvalidToken, UnicodeError):
        log.error(
            "Datastore item %s:%s cannot be decrypted with the current key", item.scope, item.name
        )
        raise UndecryptableValue(
            f'Failed to decrypt the value of key "{item.name}": the datastore key has changed.'
        ) from None


# --- the API shape (st2bridge.shapes.KEY_VALUE_PAIR) ------------------------------------------


def pair_to_api(item, decrypt=False):
    value, encrypted = shown_value(item, decrypt)
    user_scoped = item.scope == USER
    path = f"{item.owner}:{item.name}" if user_scoped else item.name
    return without_nulls(
        {
            "id": item.id,
            "uid": f"key_value_pair:{item.scope}:{path}",
            "name": item.name,
            "value": value,
            "secret": item.secret,
            "encrypted": encrypted,
            "scope": item.scope,
            "user": item.owner if user_scoped else None,
            "description": item.description or None,
            "expire_timestamp": isotime(item.expire_timestamp),
        }
    )
