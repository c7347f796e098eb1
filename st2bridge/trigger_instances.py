"""Trigger instances after the fact (notes §6.4): re-emitting one dispatches its payload again,
as a new instance, to every rule its trigger has now (staff only: st2bridge.access); the API
shapes of instances and of the rule enforcements they led to. Reading instances and
enforcements is st2bridge.access's (find_trigger_instance, visible_*)."""

from . import access, dispatch
from .formats import isotime, without_nulls
from .models import Trigger


def re_emit(caller, instance_id):
    """POST /triggerinstances/{id}/re_emit: (the original instance, the payload sent again).
    Refused (403) before the instance is looked up, so a member learns nothing of the id."""
    access.require_may_re_emit(caller)
    original = access.find_trigger_instance(caller, instance_id)
    # As in StackStorm, re-emit by ref even when no trigger (and so no rule) uses it now.
    trigger = Trigger.objects.filter(ref=original.trigger).first() or Trigger(
        ref=original.trigger, type=original.trigger_type
    )
    payload = {**original.payload, "__context": {"original_id": original.id}}
    user = caller.username
    dispatch.dispatch(trigger, payload, {"re_emitted_by": user}, posted_by=user)
    return original, payload


# --- the API shapes (st2bridge.shapes.TRIGGER_INSTANCE, RULE_ENFORCEMENT) ---------------------


def instance_to_api(instance):
    """StackStorm's shape, and `posted_by` (ours): who caused the instance (a webhook's
    poster, the user of the execution behind an actiontrigger, who re-emitted it); absent
    for timers."""
    data = {
        "id": instance.id,
        "trigger": instance.trigger,
        "payload": instance.payload,
        "occurrence_time": isotime(instance.occurrence_time),
        "status": instance.status,
    }
    if instance.posted_by:
        data["posted_by"] = instance.posted_by
    return data


def enforcement_to_api(enforcement):
    return without_nulls(
        {
            "id": enforcement.id,
            "rule": {
                "ref": enforcement.rule_ref,
                "id": enforcement.rule_id,
                "uid": enforcement.rule_uid,
            },
            "trigger_instance_id": enforcement.trigger_instance_id,
            "execution_id": enforcement.execution_id or None,
            "failure_reason": enforcement.failure_reason or None,
            "enforced_at": isotime(enforcement.enforced_at),
            "status": enforcement.status,
        }
    )
