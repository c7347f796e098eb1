"""Trigger instances and rule enforcement (notes §5.4-5.5): a trigger fires, the enabled rules
of that trigger (an indexed lookup, never a scan of all rules) are matched with the pure
criteria functions, and each match renders its action parameters and requests an execution.

Chaining guard: an execution started by a rule carries `rule_depth` in its context (1 for a
rule fired by a webhook, timer or an execution nobody's rule started; parent depth + 1 when
fired by an actiontrigger). A rule matching the actiontrigger of an execution at depth
ST2_RULE_CHAIN_LIMIT records a failed enforcement saying so instead of starting another
execution, so a rule that triggers itself stops after that many rounds.

Speed (bench/rules.py): this runs on every webhook, so the path is lean, yet it reads what
it needs from the database on every call: no web process can fire a rule that another one has
just disabled, or use an action as it was before a change. The enabled rules of the trigger,
then the actions the matching rules name and their runner types, come from plain SELECTs of
the needed columns (st2bridge.rows: the one place they are not the ORM's, for a measured
gain). What is derived from a row (decoded rule, action and runner objects, merged parameter
schema, snapshots) is kept per process keyed by the row's content, so a changed row is a new
key, never a stale hit. Reading, matching and rendering happen before the write transaction;
the trigger instance, the executions, their stream events and the enforcements are then
written with one INSERT per table in one transaction, which on SQLite holds the write lock
only for those INSERTs.
"""

import functools
import logging
from collections import namedtuple

from django.conf import settings
from django.utils import timezone

from . import access, catalog, executions, params, rulebook, teams, triggers, triggertypes
from .constants import SYSTEM_USER
from .errors import St2Error
from .models import Action, Rule, RuleEnforcement, RunnerType, TriggerInstance, TriggerType
from .params import is_template
from .rows import columns, converted, insert_all, select_rows
from .rows import instance as model_instance
from .rules.criteria import criteria_match
from .templating import datastore_context, render, render_keeping_type

log = logging.getLogger(__name__)

RULE_COLUMNS = (
    "id", "ref", "pack", "name", "criteria", "action_ref", "action_parameters", "type",
    "created_by", "secret_action_parameters",
    # For the rule as an execution it starts shows it (rulebook.to_api):
    "description", "enabled", "trigger_ref", "trigger_type", "trigger_parameters", "tags",
    "context", "metadata_file",
)  # fmt: skip
MatchingRule = namedtuple("MatchingRule", RULE_COLUMNS)


def dispatch(trigger, payload, context=None, posted_by=""):
    """Record a trigger instance for `trigger` and enforce the matching rules now. Everything
    it writes (instance, executions, stream events, enforcements) commits together.
    `posted_by` is the user who caused it (a webhook's poster, an execution's user)."""
    instance = TriggerInstance(
        posted_by=posted_by,
        trigger=trigger.ref,
        trigger_type=trigger.type,
        payload=payload,
        occurrence_time=timezone.now(),
        status=TriggerInstance.PROCESSING,
        context=context or {},
    )
    batch = enforce_rules(instance, trigger)
    events = [executions.stream_event("st2.execution__create", e) for e in batch.executions]
    insert_all([[instance], batch.executions, events, batch.enforcements])
    return instance


def enforce_rules(instance, trigger):
    """Standard rules first; `backstop` rules only when no standard rule matched (§5.1).
    Returns the (unsaved) executions and enforcements, and sets the instance's status."""
    rules = enabled_rules(instance.trigger)
    standard = [rule for rule in rules if (rule.type or {}).get("ref") != "backstop"]
    backstop = [rule for rule in rules if (rule.type or {}).get("ref") == "backstop"]
    batch = Batch(instance, trigger)
    matched = batch.match(standard)
    if not matched and not batch.enforcements:  # every standard rule said "no match"
        matched = batch.match(backstop)
    batch.launch(matched)
    failed = any(e.status == RuleEnforcement.FAILED for e in batch.enforcements)
    instance.status = TriggerInstance.FAILED if failed else TriggerInstance.PROCESSED
    return batch


class Batch:
    """The enforcements of one trigger instance: every rule that matches is recorded once,
    with the execution it requested or the reason it failed."""

    def __init__(self, instance, trigger):
        self.instance = instance
        self.trigger = trigger
        self.depth = rule_depth(instance.context)
        self.executions, self.enforcements = [], []
        self.owners = {}  # {username: teams.Owner} of the rules' owners

    def match(self, rules):
        """[(rule, render context)] of the rules whose criteria match; a criterion that
        cannot be evaluated fails that rule's enforcement. Templates read the datastore as
        the rule's owner may (only staff decrypt system secrets)."""
        # The owners' teams and staff status, in one query.
        unknown = {_owner(rule) for rule in rules} - set(self.owners)
        if unknown:
            self.owners.update(teams.owners_by_username(unknown))
        matched = []
        for rule in rules:
            owner = _owner(rule)
            if not self._may_see_instance(owner):
                continue
            store = datastore_context(owner, system_decrypt=self.owners[owner].is_staff)
            context = {"trigger": self.instance.payload, **store}
            try:
                found, _reason = criteria_match(
                    rule.criteria, context, functools.partial(_render_pattern, context=context)
                )
            except (St2Error, ValueError, TypeError) as error:
                self._failed(rule, error)
                continue
            if found:
                matched.append((rule, context))
        return matched

    def _may_see_instance(self, owner):
        """Whether the rule's owner may see the instance (st2bridge.access decides): a rule
        that may not is passed over before its criteria are read, leaving no trace."""
        return access.rule_may_see_instance(owner, self.owners[owner].is_staff, self.instance)

    def launch(self, matched):
        """Request the execution of each matched rule (unless the chain guard stops it)."""
        if not matched:
            return
        launchables = find_launchables({rule.action_ref for rule, _ in matched})
        origin = self._origin()
        for rule, context in matched:
            owner = self.owners[_owner(rule)]
            try:
                self._check_depth()
                # The owner must (still) be allowed to run the action by their teams.
                teams.check_scope(owner.scope, _owner(rule), rule.action_ref)
                stored = rulebook.stored_values(
                    rule.action_parameters, rule.secret_action_parameters
                )
                values = render_values(stored, context)
                action, runner, prepared = launchables.get(rule.action_ref, (None, None, None))
                executions.check_launchable(rule.action_ref, action, runner)
                # Rendered here, with the trigger payload: data from now on, never rendered
                # again (a webhook body holding "{{ ... }}" stays that text).
                execution = executions.new_execution(
                    action,
                    runner,
                    values,
                    user=_owner(rule),
                    staff=owner.is_staff,
                    data=frozenset(values),
                    context={
                        "rule": {"id": rule.id, "name": rule.name, "ref": rule.ref},
                        "trigger_instance": {"id": self.instance.id, "name": None},
                        "rule_depth": self.depth + 1,
                    },
                    prepared=prepared,
                    rule_ref=rule.ref,
                    trigger_instance_id=self.instance.id,
                    trigger_type=self.instance.trigger_type,
                    origin={
                        "rule": rulebook.to_api(rule, merged=prepared[0] if prepared else None),
                        **origin,
                    },
                )
            except (St2Error, ValueError, TypeError) as error:
                self._failed(rule, error)
                continue
            self.executions.append(execution)
            self._record(rule, execution_id=execution.id)

    def _origin(self):
        """What every execution of this instance shows of how it started, but the rule: the
        trigger, its type (read now) and the instance, as the API shows them. A trigger
        made up for a re-emit (no row: its rules are gone) is left out."""
        origin = {"trigger_instance": triggers.instance_to_api(self.instance)}
        if not self.trigger._state.adding:
            origin["trigger"] = triggers.trigger_to_api(self.trigger)
        trigger_type = trigger_type_api(self.instance.trigger_type)
        if trigger_type is not None:
            origin["trigger_type"] = trigger_type
        return origin

    def _check_depth(self):
        if self.depth >= settings.ST2_RULE_CHAIN_LIMIT:
            raise ValueError(
                f"Rule chain limit reached: the trigger instance comes from an execution "
                f"{self.depth} rules deep (ST2_RULE_CHAIN_LIMIT = {settings.ST2_RULE_CHAIN_LIMIT})."
            )

    def _failed(self, rule, error):
        reason = error.message if isinstance(error, St2Error) else str(error)
        log.info("Rule %s enforcement failed: %s", rule.ref, reason)
        self._record(rule, failure=reason)

    def _record(self, rule, execution_id="", failure=""):
        self.enforcements.append(
            RuleEnforcement(
                rule_id=rule.id,
                rule_ref=rule.ref,
                rule_uid=f"rule:{rule.pack}:{rule.name}",
                rule_owner=_owner(rule),
                trigger_instance_id=self.instance.id,
                execution_id=execution_id,
                failure_reason=failure,
                status=RuleEnforcement.FAILED if failure else RuleEnforcement.SUCCEEDED,
                enforced_at=timezone.now(),
            )
        )


def _owner(rule):
    return rule.created_by or SYSTEM_USER


def rule_depth(context):
    """How many rules deep the context says its execution is: a whole number, at least 0
    (anything else, say from an execution recorded before callers' context keys were
    dropped, counts as 0)."""
    depth = context.get("rule_depth", 0)
    return depth if isinstance(depth, int) and not isinstance(depth, bool) and depth > 0 else 0


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


# --- reading on the hot path ---------------------------------------------------------------


def enabled_rules(trigger_ref):
    """The enabled rules of a trigger (the trigger_ref, enabled index), in the API's order."""
    rows = select_rows(
        Rule,
        RULE_COLUMNS,
        {"trigger_ref": [trigger_ref], "enabled": [True]},
        order_by=("pack", "name"),
    )
    return [_matching_rule(row) for row in rows]


@functools.lru_cache(maxsize=4096)
def _matching_rule(row):
    """A rule row decoded once per distinct content (a changed rule is another key). The
    criteria and parameters are shared between calls: read them, never change them."""
    return MatchingRule(*converted(Rule, RULE_COLUMNS, row))


def trigger_type_api(ref):
    """The API object of the trigger type `ref` as it is now, or None if there is none."""
    rows = select_rows(TriggerType, columns(TriggerType), {"ref": [ref]})
    return _trigger_type_api(rows[0]) if rows else None


@functools.lru_cache(maxsize=256)
def _trigger_type_api(row):
    """Built once per distinct content of the row (never stale); shared: never change it."""
    return triggertypes.trigger_type_to_api(model_instance(TriggerType, row))


def find_launchables(action_refs):
    """{action ref: (action, runner type or None, prepared)} for these refs, read now; a ref
    that is not there is left out. `prepared` is what executions.new_execution takes."""
    if not action_refs:
        return {}
    actions = select_rows(Action, columns(Action), {"ref": sorted(action_refs)})
    runner_type = columns(Action).index("runner_type")
    names = sorted({row[runner_type] for row in actions})
    runners = select_rows(RunnerType, columns(RunnerType), {"name": names}) if names else []
    by_name = {row[columns(RunnerType).index("name")]: row for row in runners}
    found = (_launchable(row, by_name.get(row[runner_type])) for row in actions)
    return {action.ref: (action, runner, prepared) for action, runner, prepared in found}


@functools.lru_cache(maxsize=256)
def _launchable(action_row, runner_row):
    """Built once per distinct content of the two rows, so never stale: a changed row is
    another key. The objects returned are shared between calls: read them, never change them."""
    action = model_instance(Action, action_row)
    if runner_row is None:
        return action, None, None
    runner = model_instance(RunnerType, runner_row)
    prepared = (
        params.merge_parameters(runner.runner_parameters, action.parameters),
        catalog.action_to_api(action),
        catalog.runner_type_to_api(runner),
    )
    return action, runner, prepared
