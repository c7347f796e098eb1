"""The audit log (issue 18): who did what, when, from where, with which credential.

One service function records an event; the services call it (st2bridge.executions, rulebook,
datastore, apikeys, team_admin, configs, auth's API views), so the API, the portal (which goes
through the API) and the st2 CLI are all recorded by the same line:

    audit.record(caller, "rule.update", "rule", rule.ref, audit.diff(before, after))

- `by`: the API's Caller (st2bridge.auth: its user, the address it called from and its token
  or API key), or an Actor for events with no caller yet (sign-in, sign-out).
- `action`: "<object type>.<verb>", one of ACTIONS (add a new one there: anything else is a
  ValueError, so that a typo cannot hide records from the filters).
- `changes`: {field: [before, after]}: built by created(), deleted() or diff() from the
  objects as the API shows them to someone without show_secrets (secret parameters and
  config items masked); datastore values are never passed, only names. A value whose JSON is
  longer than MAX_VALUE characters is replaced by its length, so a record stays small.

Records are append-only (st2bridge.models.AuditRecord): nothing but the retention job
(st2bridge.retention, ST2_AUDIT_RECORDS_TTL) deletes them. A record is written in the
caller's transaction where there is one (a launch: one INSERT beside the execution's).
"""

import json
from dataclasses import dataclass

from django.utils import timezone

from .formats import isotime
from .models import AuditRecord

MAX_VALUE = 2000  # characters of JSON one before/after value may take in a record

ACTIONS = frozenset(
    (
        "auth.signin",
        "auth.signin_failed",
        "auth.signout",
        "apikey.create",
        "apikey.update",
        "apikey.enable",
        "apikey.disable",
        "apikey.delete",
        "apikey.revoke",  # an administrator disabled or deleted someone else's key
        "execution.launch",
        "execution.cancel",
        "execution.rerun",
        "rule.create",
        "rule.update",
        "rule.enable",
        "rule.disable",
        "rule.delete",
        "key.set",
        "key.delete",
        "team.create",
        "team.update",
        "team.delete",
        "team.member_add",
        "team.member_remove",
        "config.set",
        "template.create",  # launch templates; an import records a create or an update
        "template.update",
        "template.delete",
    )
)


@dataclass(frozen=True)
class Actor:
    """Who acted, when there is no API Caller: `credential` as credential_of() spells it."""

    username: str
    address: str = ""
    credential: str = ""


def credential_of(token=None, api_key=None):
    """ "token:<id>" or "apikey:<id>": which credential, never its secret."""
    if token is not None:
        return f"token:{token.id}"
    if api_key is not None:
        return f"apikey:{api_key.id}"
    return ""


def actor_of(by):
    if isinstance(by, Actor):
        return by
    return Actor(by.username, by.address, credential_of(by.token, by.api_key))


def record(by, action, object_type="", object_id="", changes=None):
    """Record one event (see the module's docstring); returns the AuditRecord."""
    if action not in ACTIONS:
        raise ValueError(f"{action!r} is not an audited action (st2bridge.audit.ACTIONS)")
    actor = actor_of(by)
    return AuditRecord.objects.create(
        at=timezone.now(),
        actor=actor.username[:150],
        action=action,
        address=actor.address[:64],
        credential=actor.credential,
        object_type=object_type,
        object_id=str(object_id)[:255],
        changes=_bounded(changes or {}),
    )


def created(shown):
    """Changes of a new object: every field of `shown` (masked) as [None, value]."""
    return {name: [None, value] for name, value in shown.items()}


def deleted(shown):
    """Changes of a deleted object: every field of `shown` (masked) as [value, None]."""
    return {name: [value, None] for name, value in shown.items()}


def diff(before, after, real_before=None, real_after=None):
    """{field: [before, after]} for the fields that differ, values as shown (masked). Which
    fields differ is decided on `real_before`/`real_after` when given (the unmasked values),
    so a changed secret is recorded as changed, as the mask and the mask."""
    real_before = before if real_before is None else real_before
    real_after = after if real_after is None else real_after
    names = sorted(set(real_before) | set(real_after), key=str)
    return {
        name: [before.get(name), after.get(name)]
        for name in names
        if real_before.get(name) != real_after.get(name)
    }


def _bounded(changes):
    return {name: [_short(value) for value in pair] for name, pair in changes.items()}


def _short(value):
    text = json.dumps(value, default=str)
    if len(text) <= MAX_VALUE:
        return value
    return f"({len(text)} characters of JSON, not kept)"


# --- reading (administrators only: access.visible_audit_records) ----------------------------

# What the API and the portal filter by: query parameter -> lookup. `action` is a whole action
# ("rule.update") or a kind of object ("rule": every rule.* action).
FILTERS = {
    "user": "actor",
    "object_type": "object_type",
    "object_id": "object_id",
    "timestamp_gt": "at__gt",
    "timestamp_lt": "at__lt",
}


def filtered(records, action=None, before_id=None, **lookups):
    """`records` narrowed by FILTERS' `lookups`, an `action` (or its object type) and
    `before_id` (only older records: how an export pages without offsets), newest first."""
    records = records.filter(**lookups)
    if action:
        records = (
            records.filter(action=action)
            if "." in action
            else records.filter(action__startswith=f"{action}.")
        )
    if before_id is not None:
        records = records.filter(pk__lt=before_id)
    return records.order_by("-pk")


def to_api(record):
    """An AuditRecord as the API answers it (st2bridge.shapes.AUDIT_RECORD)."""
    return {
        "id": str(record.pk),
        "timestamp": isotime(record.at),
        "user": record.actor,
        "action": record.action,
        "address": record.address,
        "credential": record.credential,
        "object_type": record.object_type,
        "object_id": record.object_id,
        "changes": record.changes,
    }
