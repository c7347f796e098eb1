"""Trigger instances and rule enforcement (notes §5.4-5.5): a trigger fires, the enabled rules
of that trigger (an indexed lookup, never a scan of all rules) are matched with the pure
criteria functions, and each match renders its action parameters and requests an execution.

Chaining guard: an execution started by a rule carries `rule_depth` in its context (1 for a
rule fired by a webhook, timer or an execution nobody's rule started; parent depth + 1 when
fired by an actiontrigger). A rule matching the actiontrigger of an execution at depth
ST2_RULE_CHAIN_LIMIT records a failed enforcement saying so instead of starting another
execution, so a rule that triggers itself stops after that many rounds.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import executions
from .errors import St2Error
from .models import Rule, RuleEnforcement, Trigger, TriggerInstance
from .rules.criteria import criteria_match
from .templating import datastore_context, is_template, render, render_keeping_type

log = logging.getLogger(__name__)


def dispatch(trigger, payload, context=None):
    """Record a trigger instance for `trigger` and enforce the matching rules now, in one
    transaction: one commit per trigger instead of one per row (SQLite writes are serial)."""
    with transaction.atomic():
        instance = TriggerInstance.objects.create(
            trigger=trigger.ref,
            trigger_type=trigger.type,
            payload=payload,
            occurrence_time=timezone.now(),
            status=TriggerInstance.PROCESSING,
            context=context or {},
        )
        enforce_rules(instance)
    return instance


NO_MATCH, ENFORCED, FAILED = "no match", "enforced", "failed"


def enforce_rules(instance):
    """Standard rules first; `backstop` rules only when no standard rule matched (§5.1)."""
    depth = instance.context.get("rule_depth", 0)
    rules = list(Rule.objects.filter(trigger_ref=instance.trigger, enabled=True))
    backstop = [rule for rule in rules if (rule.type or {}).get("ref") == "backstop"]
    outcomes = [enforce(rule, instance, depth) for rule in rules if rule not in backstop]
    if all(outcome == NO_MATCH for outcome in outcomes):
        outcomes += [enforce(rule, instance, depth) for rule in backstop]
    status = TriggerInstance.FAILED if FAILED in outcomes else TriggerInstance.PROCESSED
    TriggerInstance.objects.filter(pk=instance.pk).update(status=status)


def enforce(rule, instance, depth):
    """Match one rule; on a match request its execution (unless the chain guard stops it).
    Returns NO_MATCH, ENFORCED or FAILED; every match is recorded as an enforcement."""
    owner = rule.created_by or "stanley"
    context = {"trigger": instance.payload, **datastore_context(owner)}
    try:
        matched, _reason = criteria_match(
            rule.criteria, context, lambda pattern: _render_pattern(pattern, context)
        )
        if not matched:
            return NO_MATCH
        if depth >= settings.ST2_RULE_CHAIN_LIMIT:
            raise ValueError(
                f"Rule chain limit reached: the trigger instance comes from an execution "
                f"{depth} rules deep (ST2_RULE_CHAIN_LIMIT = {settings.ST2_RULE_CHAIN_LIMIT})."
            )
        values = render_values(rule.action_parameters, context)
        execution = executions.request_execution(
            rule.action_ref,
            values,
            user=owner,
            context={
                "rule": {"id": rule.id, "name": rule.name, "ref": rule.ref},
                "trigger_instance": {"id": instance.id, "name": None},
                "rule_depth": depth + 1,
            },
            rule_ref=rule.ref,
            trigger_instance_id=instance.id,
        )
    except (St2Error, ValueError, TypeError) as error:
        reason = error.message if isinstance(error, St2Error) else str(error)
        log.info("Rule %s enforcement failed: %s", rule.ref, reason)
        _record(rule, instance, failure=reason)
        return FAILED
    _record(rule, instance, execution_id=execution.id)
    return ENFORCED


def _render_pattern(pattern, context):
    if not is_template(pattern):
        return pattern
    return render_keeping_type(pattern, context, "criteria pattern")


def render_values(values, context):
    """Rule action parameters with every Jinja string rendered against the trigger payload."""
    if isinstance(values, str):
        return render(values, context, "action parameter") if is_template(values) else values
    if isinstance(values, dict):
        return {key: render_values(value, context) for key, value in values.items()}
    if isinstance(values, list):
        return [render_values(value, context) for value in values]
    return values


def _record(rule, instance, execution_id="", failure=""):
    RuleEnforcement.objects.create(
        rule_id=rule.id,
        rule_ref=rule.ref,
        rule_uid=f"rule:{rule.pack}:{rule.name}",
        trigger_instance_id=instance.id,
        execution_id=execution_id,
        failure_reason=failure,
        status=RuleEnforcement.FAILED if failure else RuleEnforcement.SUCCEEDED,
        enforced_at=timezone.now(),
    )


def emit_action_trigger(execution):
    """A finished execution fires core.st2.generic.actiontrigger (secrets masked)."""
    trigger = Trigger.objects.filter(ref="core.st2.generic.actiontrigger").first()
    if trigger is None or not Rule.objects.filter(trigger_ref=trigger.ref, enabled=True).exists():
        return None
    payload = {
        "execution_id": execution.id,
        "status": execution.status,
        "start_timestamp": str(execution.start_timestamp),
        "end_timestamp": str(execution.end_timestamp) if execution.end_timestamp else None,
        "action_name": execution.action.get("name"),
        "action_ref": execution.action_ref,
        "runner_ref": execution.runner.get("name"),
        "parameters": execution.parameters,
        "result": execution.result,
    }
    depth = execution.context.get("rule_depth", 0)
    with transaction.atomic():
        return dispatch(trigger, payload, {"rule_depth": depth, "execution_id": execution.id})
