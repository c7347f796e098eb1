"""API keys: create, find, change and delete. Whose keys a caller sees, and what only admins
may do, is st2bridge.access's."""

from datetime import UTC

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import access, audit
from .auth import credential_hash, new_api_key
from .bodies import check_body
from .constants import MASK
from .errors import Conflict, InvalidInput, NotFound
from .formats import isotime
from .models import ApiKey

_FIELDS = {
    "id": {"type": "string", "pattern": "^([0-9a-f]{24})?$"},  # an ObjectId, as exported
    "uid": {"type": "string"},
    "user": {"type": ["string", "null"]},
    "key_hash": {"type": ["string", "null"], "maxLength": 128},
    "metadata": {"type": ["object", "null"]},
    "enabled": {"type": "boolean"},
    "expires_at": {"type": ["string", "null"]},
    "created_at": {"type": ["string", "null"]},
    "last_used_at": {"type": ["string", "null"]},
}
CREATE_SCHEMA = {
    "type": "object",
    "properties": {
        k: v for k, v in _FIELDS.items() if k not in ("uid", "created_at", "last_used_at")
    },
    "additionalProperties": False,
}
UPDATE_SCHEMA = {"type": "object", "properties": _FIELDS, "additionalProperties": False}


def with_metadata(keys, wanted):
    """Keys whose metadata has `wanted` ("name:value", an extension of StackStorm's API):
    the value is matched exactly, as text. The name is a key, never a lookup path."""
    if not wanted:
        return keys
    name, separator, value = wanted.partition(":")
    if not separator or not name:
        raise InvalidInput('metadata: expected "name:value", for example "name:ci".')
    as_text = Cast(KeyTextTransform(name, "metadata"), output_field=TextField())
    return keys.annotate(wanted_value=as_text).filter(wanted_value=value)


def find_key(caller, id_or_key):
    """By raw key first, then by id, as StackStorm looks keys up; others' keys are 'not found'."""
    keys = access.visible_api_keys(caller)
    found = (
        keys.filter(key_hash=credential_hash(id_or_key)).first()
        or keys.filter(pk=id_or_key).first()
    )
    if found is None:
        raise NotFound(f"ApiKey matching {id_or_key} for reference and id not found.")
    return found


def create_key(caller, body):
    """Return (ApiKey, raw key); the raw key is None when an existing hash is imported."""
    check_body(body, CREATE_SCHEMA)
    owner = _owner(caller, body.get("user"))
    if body.get("key_hash"):
        access.require_admin(caller, refusal="Only administrators may import an existing key_hash.")
        raw, key_hash = None, body["key_hash"]
    else:
        raw, key_hash = new_api_key()
    fields = {"id": body["id"]} if body.get("id") else {}
    _check_unused(key_hash, body.get("id"))
    expires_at = _expiry(body.get("expires_at"))
    with transaction.atomic():
        api_key = ApiKey.objects.create(
            user=owner,
            key_hash=key_hash,
            metadata=body.get("metadata") or {},
            enabled=body.get("enabled", True),
            expires_at=expires_at,
            **fields,
        )
        audit.record(caller, "apikey.create", "apikey", api_key.id, audit.created(_shown(api_key)))
    return api_key, raw


def _check_unused(key_hash, key_id):
    """An imported key_hash or id must be new (the database would refuse it anyway)."""
    existing = ApiKey.objects.filter(key_hash=key_hash).first()
    if existing is None and key_id:
        existing = ApiKey.objects.filter(pk=key_id).first()
    if existing is not None:
        raise Conflict("An API key with this key_hash or id already exists.", existing.id)


def update_key(caller, api_key, body):
    check_body(body, UPDATE_SCHEMA)
    before = _shown(api_key)
    if body.get("key_hash") not in (None, "", MASK, api_key.key_hash):
        raise InvalidInput("Update of key_hash is not allowed.")
    if body.get("user") not in (None, api_key.user.username):
        api_key.user = _owner(caller, body["user"])
    if "metadata" in body:
        api_key.metadata = body["metadata"] or {}
    if "enabled" in body:
        api_key.enabled = body["enabled"]
    if "expires_at" in body:
        expires_at = _expiry(body["expires_at"], api_key.expires_at)
        if expires_at != api_key.expires_at:  # a new expiry is announced again, once
            api_key.expires_at, api_key.expiry_warned_at = expires_at, None
    changes = audit.diff(before, _shown(api_key))
    verb = "update"
    if set(changes) == {"enabled"}:
        verb = "enable" if api_key.enabled else _disable(caller, api_key)
    with transaction.atomic():
        api_key.save(
            update_fields=["user", "metadata", "enabled", "expires_at", "expiry_warned_at"]
        )
        audit.record(caller, f"apikey.{verb}", "apikey", api_key.id, changes)
    return api_key


def delete_key(caller, api_key):
    """DELETE /apikeys/{id}: the key (found by find_key) is gone."""
    before = _shown(api_key)
    verb = _disable(caller, api_key, "delete")
    with transaction.atomic():
        api_key.delete()
        audit.record(caller, f"apikey.{verb}", "apikey", before["id"], audit.deleted(before))


def _disable(caller, api_key, verb="disable"):
    """What the audit log calls disabling or deleting a key: its owner's `verb`, or an
    administrator's revocation of someone else's key."""
    return verb if api_key.user_id == caller.user.pk else "revoke"


def _shown(api_key):
    """An API key as the audit log keeps it: its hash masked, as key_to_api shows it."""
    shown = key_to_api(api_key)
    del shown["last_used_at"]
    return shown


def _owner(caller, username):
    if not username or username == caller.username:
        return caller.user
    access.require_admin(
        caller, refusal="user: only administrators may manage API keys of other users."
    )
    owner = get_user_model().objects.filter(username=username).first()
    if owner is None:
        raise InvalidInput(f'user: user "{username}" does not exist.')
    return owner


def _expiry(value, unchanged=None):
    if value is None or value == "":
        return None
    moment = parse_datetime(value)
    if moment is None:
        raise InvalidInput(f"expires_at: {value!r} is not an ISO-8601 date and time.")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    if moment != unchanged and moment <= timezone.now():
        raise InvalidInput("expires_at: must be in the future.")
    return moment


# --- the API shapes (st2bridge.shapes.API_KEY, NEW_API_KEY) -----------------------------------


def key_to_api(api_key, unmasked=False):
    return {
        "id": api_key.id,
        "uid": f"api_key:{api_key.key_hash}" if unmasked else MASK,
        "user": api_key.user.username,
        "key_hash": api_key.key_hash if unmasked else MASK,
        "metadata": api_key.metadata,
        "created_at": isotime(api_key.created_at),
        "enabled": api_key.enabled,
        "expires_at": isotime(api_key.expires_at),
        "last_used_at": isotime(api_key.last_used_at),
    }


def new_key_to_api(api_key, raw):
    """A key just created: the raw key (None for an imported key_hash) instead of the hash."""
    data = key_to_api(api_key, unmasked=False)
    del data["key_hash"]
    data["key"] = raw
    return data
