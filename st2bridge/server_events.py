"""The server's own events as triggers (issue 18), so teams can write rules on them (to post
to chat, say). Trigger types of pack `core`, as StackStorm's internal triggers are
(st2bridge/trigger_types.yaml declares their payload schemas):

- core.st2.api_key.expiring: an enabled key of an active user expires within
  KEY_EXPIRY_WARNING_DAYS. The worker looks every KEY_CHECK_INTERVAL seconds; each key fires
  once per expiry: a conditional UPDATE of `expiry_warned_at` claims it, so two workers never
  both fire it, and a new expires_at (st2bridge.apikeys) arms it again. Payload
  `{"object": <the key as its owner reads it, without key_hash>, "expires_in_seconds"}`.
- core.st2.template.execution_failed: an execution whose context holds
  `{"template": {"ref", "version"}}` (launched from a launch template) ends failed or timeout
  (st2bridge.lifecycle). Payload: the execution's id, status, template, action ref, user and
  times; never its parameters or result.
- core.st2.team.grant_changed: a team gains or loses a pack or action (st2bridge.team_admin),
  one instance per ref. Payload `{"team": {"id", "name"}, "change": "added"|"removed",
  "kind", "target", "by"}`.

Who a rule may see them for is st2bridge.access's (rule_may_see_instance): each instance
names, in its context, the users it concerns (`audience`: the key's owner, the execution's
user, the team's members as they were at the change), and only their rules and staff's
match it. Nothing here carries a secret.
"""

import logging
from datetime import timedelta

from django.utils import timezone

from . import dispatch
from .constants import (
    API_KEY_EXPIRING,
    KEY_EXPIRY_WARNING_DAYS,
    TEAM_GRANT_CHANGED,
    TEMPLATE_EXECUTION_FAILED,
)
from .formats import isotime
from .models import ApiKey, Execution, Trigger

log = logging.getLogger(__name__)

KEY_EXPIRY_WARNING = timedelta(days=KEY_EXPIRY_WARNING_DAYS)
KEY_CHECK_INTERVAL = 60  # seconds between the worker's looks for keys entering the window
TEMPLATE_FAILURES = (Execution.FAILED, Execution.TIMEOUT)


def _trigger(ref):
    """The shadow trigger of one of these types, or None (logged) when the built-in trigger
    types are not registered yet (`manage.py register_packs` registers them)."""
    trigger = Trigger.objects.filter(ref=ref).first()
    if trigger is None:
        log.warning("Trigger %s is not registered: the event is not emitted.", ref)
    return trigger


def _emit(trigger, payload, audience, posted_by):
    dispatch.dispatch(trigger, payload, {"audience": sorted(audience)}, posted_by=posted_by)


# --- keys expiring ---------------------------------------------------------------------------


def warn_expiring_keys(now=None):
    """Fire core.st2.api_key.expiring for each key that entered the warning window and has
    not fired for its expiry yet. Returns how many fired here."""
    now = now or timezone.now()
    due = ApiKey.objects.filter(
        enabled=True,
        user__is_active=True,
        expiry_warned_at__isnull=True,
        expires_at__gt=now,
        expires_at__lte=now + KEY_EXPIRY_WARNING,
    ).select_related("user")
    keys = list(due.order_by("expires_at")[:100])  # a bounded amount; the rest next time
    if not keys:
        return 0
    trigger = _trigger(API_KEY_EXPIRING)
    if trigger is None:
        return 0
    fired = 0
    for key in keys:
        # The claim: exactly one look (of any worker) sets it for this expiry.
        claimed = ApiKey.objects.filter(
            pk=key.pk, expires_at=key.expires_at, expiry_warned_at__isnull=True
        ).update(expiry_warned_at=now)
        if claimed:
            owner = key.user.username
            _emit(trigger, expiring_payload(key, now), [owner], posted_by=owner)
            fired += 1
    return fired


def expiring_payload(key, now):
    """The key as its owner reads it (st2bridge.apikeys.key_to_api), less its hash."""
    return {
        "object": {
            "id": key.id,
            "user": key.user.username,
            "metadata": key.metadata,
            "enabled": key.enabled,
            "created_at": isotime(key.created_at),
            "expires_at": isotime(key.expires_at),
            "last_used_at": isotime(key.last_used_at),
        },
        "expires_in_seconds": int((key.expires_at - now).total_seconds()),
    }


# --- template executions failing -------------------------------------------------------------


def template_of(execution):
    """The {"ref", "version"} an execution was launched from, or None."""
    template = (execution.context or {}).get("template")
    return template if isinstance(template, dict) and template.get("ref") else None


def emit_template_failures(moved):
    """Fire core.st2.template.execution_failed for each execution of `moved` (just
    transitioned) launched from a template that ended failed or timeout."""
    failed = [e for e in moved if e.status in TEMPLATE_FAILURES and template_of(e)]
    if not failed:
        return
    trigger = _trigger(TEMPLATE_EXECUTION_FAILED)
    if trigger is None:
        return
    for execution in failed:
        _emit(trigger, template_failure_payload(execution), [execution.user], execution.user)


def template_failure_payload(execution):
    template = template_of(execution)
    return {
        "execution_id": execution.id,
        "status": execution.status,
        "template": {"ref": template["ref"], "version": template.get("version")},
        "action_ref": execution.action_ref,
        "user": execution.user,
        "start_timestamp": isotime(execution.start_timestamp),
        "end_timestamp": isotime(execution.end_timestamp),
    }


# --- team grants changing --------------------------------------------------------------------


def emit_grant_changes(team, members, before, after, by):
    """Fire core.st2.team.grant_changed for each ref `team` ({"id", "name"}) gained or lost.
    `before` and `after` are {kind: refs} ("pack", "action", ...); `members`: the usernames
    the change concerns (the team's members before it, for a team deleted)."""
    changes = [
        (change, kind, ref)
        for kind in sorted({*before, *after})
        for change, refs in (
            ("removed", set(before.get(kind, ())) - set(after.get(kind, ()))),
            ("added", set(after.get(kind, ())) - set(before.get(kind, ()))),
        )
        for ref in sorted(refs)
    ]
    if not changes:
        return
    trigger = _trigger(TEAM_GRANT_CHANGED)
    if trigger is None:
        return
    for change, kind, ref in changes:
        payload = {
            "team": {"id": team["id"], "name": team["name"]},
            "change": change,
            "kind": kind,
            "target": ref,
            "by": by,
        }
        _emit(trigger, payload, members, posted_by=by)
