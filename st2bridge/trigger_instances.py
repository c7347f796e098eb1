"""Trigger instances after the fact (notes §6.4): re-emitting one dispatches its payload again,
as a new instance, to every rule its trigger has now (staff only: st2bridge.access); the API
shape of the rule enforcements they led to (an instance's own is st2bridge.triggers'). Reading
instances and enforcements is st2bridge.access's (find_trigger_instance, visible_*)."""

from . import access, dispatch, triggers
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
    context = {"re_emitted_by": user}
    if "audience" in original.context:  # a server event concerns the same users again
        context["audience"] = original.context["audience"]
    dispatch.dispatch(trigger, payload, context, posted_by=user)
    return original, payload


# --- the API shape (st2bridge.shapes.RULE_ENFORCEMENT; a trigger instance's is triggers') ---


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


def enforcement_views_to_api(caller, enforcements):
    """StackStorm's rule enforcement view (GET /ruleenforcements/views): each enforcement as
    enforcement_to_api shows it, with its trigger instance (as /triggerinstances shows it)
    and the few fields of its execution st2web shows; {} for either when there is none or
    the caller may not see it (st2bridge.access). Three queries a page."""
    enforcements = list(enforcements)
    instance_ids = {e.trigger_instance_id for e in enforcements if e.trigger_instance_id}
    instances = access.visible_trigger_instances(caller).filter(pk__in=instance_ids)
    instances = {instance.id: triggers.instance_to_api(instance) for instance in instances}
    execution_ids = {e.execution_id for e in enforcements if e.execution_id}
    found = access.visible_executions(caller).filter(pk__in=execution_ids)
    shown = found.only("id", "action", "runner", "parameters", "status")
    executions = {execution.id: _execution_summary(execution) for execution in shown}
    return [
        {
            **enforcement_to_api(enforcement),
            "trigger_instance": instances.get(enforcement.trigger_instance_id, {}),
            "execution": executions.get(enforcement.execution_id, {}),
        }
        for enforcement in enforcements
    ]


def _execution_summary(execution):
    """The fields of an execution StackStorm's enforcement view carries (secrets masked, as
    the execution's parameters always are)."""
    return {
        "id": execution.id,
        "action": {
            "ref": execution.action.get("ref"),
            "parameters": execution.action.get("parameters", {}),
        },
        "runner": {
            "name": execution.runner.get("name"),
            "runner_parameters": execution.runner.get("runner_parameters", {}),
        },
        "parameters": execution.parameters,
        "status": execution.status,
    }
