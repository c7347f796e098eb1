"""Who may read trigger data (issue 12): the one place deciding which trigger instances, rule
enforcements and webhooks a caller sees. Every list and detail of them goes through here.

Staff see everything. A member sees:
- a trigger instance they posted (`posted_by`: a webhook's poster, the user of the execution
  behind an actiontrigger, the staff member who re-emitted it), or one that enforced a rule of
  theirs (an enforcement with `rule_owner` == them), except an actiontrigger instance: it
  carries an execution's parameters and result, so only that execution's user reads it,
  whoever's rule it enforced;
- a rule enforcement of a rule of theirs, or one whose execution they see;
- a webhook (a core.st2.webhook trigger) that a rule of theirs uses, in /webhooks and in
  /triggers alike (other triggers are listed for everyone: their parameters are schedules).
Anything else is absent from lists and 404 on its own, the same answer as a missing one.
Each rule is one filter with subqueries, so a page of rows costs the same few queries.
"""

from django.db.models import Q

from .constants import ACTION_TRIGGER
from .errors import AccessDenied
from .executions import visible_executions
from .models import Rule, RuleEnforcement, Trigger, TriggerInstance
from .triggers import WEBHOOK


def visible_trigger_instances(caller, instances=None):
    """The TriggerInstance queryset `instances` (default: all) narrowed to what `caller` sees."""
    instances = TriggerInstance.objects.all() if instances is None else instances
    if caller.is_admin:
        return instances
    enforced_theirs = RuleEnforcement.objects.filter(rule_owner=caller.username)
    return instances.filter(
        Q(posted_by=caller.username)
        | (
            Q(pk__in=enforced_theirs.values("trigger_instance_id"))
            & ~Q(trigger_type=ACTION_TRIGGER)
        )
    )


def visible_enforcements(caller, enforcements=None):
    """The RuleEnforcement queryset `enforcements` (default: all) narrowed to what `caller`
    sees: enforcements of their rules, and those whose execution they see."""
    enforcements = RuleEnforcement.objects.all() if enforcements is None else enforcements
    if caller.is_admin:
        return enforcements
    return enforcements.filter(
        Q(rule_owner=caller.username)
        | Q(execution_id__in=visible_executions(caller).order_by().values("id"))
    )


def visible_webhooks(caller, webhooks=None):
    """The Trigger queryset `webhooks` (default: every webhook trigger) narrowed to the
    webhooks the caller's rules use."""
    webhooks = Trigger.objects.filter(type=WEBHOOK) if webhooks is None else webhooks
    return visible_triggers(caller, webhooks)


def visible_triggers(caller, triggers):
    """The Trigger queryset `triggers` without the webhooks no rule of the caller uses."""
    if caller.is_admin:
        return triggers
    theirs = Rule.objects.filter(created_by=caller.username).order_by().values("trigger_ref")
    return triggers.filter(~Q(type=WEBHOOK) | Q(ref__in=theirs))


def check_may_re_emit(caller):
    """Re-emitting runs every rule of the trigger again, as their owners: staff only."""
    if not caller.is_admin:
        raise AccessDenied(
            f'User "{caller.username}" may not re-emit trigger instances: administrator '
            "access is required."
        )
