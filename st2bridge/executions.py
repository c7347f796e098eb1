"""Executions: launch (validate, cast, render, record), read, re-run, and the status
transitions (compare-and-set) the worker and cancels record. What a transition sets off (a
finished execution's action trigger) is st2bridge.lifecycle's: this module imports nothing
of rule dispatch. Who may see what is decided here; who may run what, in st2bridge.teams."""

import copy
import json
import logging

from django.db import connection, transaction
from django.utils import timezone

from . import audit, catalog, configs, datastore, params, runners, teams
from .bodies import check_body
from .constants import MASK
from .errors import AccessDenied, InvalidInput
from .formats import isotime
from .models import Action, Execution, ExecutionOutput, RunnerType, StreamEvent
from .rows import prepared_insert, prepared_update
from .runners.environment import check_env
from .templating import datastore_context, render

log = logging.getLogger(__name__)

LAUNCH_SCHEMA = {
    "type": "object",
    "required": ["action"],
    "properties": {
        "action": {"type": "string", "minLength": 1},
        "parameters": {"type": ["object", "null"]},
        "context": {"type": ["object", "null"]},
        "notify": {"type": ["object", "null"]},
        "user": {"type": ["string", "null"]},
        "delay": {"type": ["integer", "null"], "minimum": 0},
    },
    "additionalProperties": False,
}
RERUN_SCHEMA = {
    "type": "object",
    "properties": {
        "parameters": {"type": ["object", "null"]},
        "tasks": {"type": "array", "maxItems": 0},
        "reset": {"type": "array", "maxItems": 0},
        "delay": {"type": ["integer", "null"], "minimum": 0},
    },
    "additionalProperties": False,
}


# --- snapshots -----------------------------------------------------------------------------


def merged_parameters(execution):
    return params.merge_parameters(
        execution.runner.get("runner_parameters"), execution.action.get("parameters")
    )


# --- launching -----------------------------------------------------------------------------


# Context keys the server sets itself, or StackStorm's servers set (who runs, for whom, what
# started it), dropped from what callers send in `context` or the St2-Context header: taken
# from a caller they would forge an identity (user, api_user, parent: st2kv.user lookups and
# the run-as user are read from them), a provenance (rule, trigger_instance, re-run,
# trace_context, chat sources, the launch template: History filters by it, re-runs go
# through it, and a forged one would fire core.st2.template.execution_failed for others'
# rules) or lift a guard (rule_depth: a negative depth lengthens a self-triggering chain past
# ST2_RULE_CHAIN_LIMIT). Anything else a caller sends is kept;
# an administrator's `api_user` too (launch(): a chat bot says for whom it runs an action).
RESERVED_CONTEXT_KEYS = frozenset(
    {
        "user", "api_user", "pack", "parent", "rule", "rule_depth", "trigger_instance",
        "trace_context", "re-run", "source_channel", "source_context", "action_alias_ref",
        "template",
    }
)  # fmt: skip


def caller_context(*contexts):
    """The contexts a caller sent (body, header), merged, without RESERVED_CONTEXT_KEYS."""
    merged = {}
    for context in contexts:
        merged.update(context or {})
    return {key: value for key, value in merged.items() if key not in RESERVED_CONTEXT_KEYS}


def launch(caller, body, header_context=None):
    """POST /executions: returns the new, `requested` execution."""
    check_body(body, LAUNCH_SCHEMA)
    teams.check_may_run(caller.user, body["action"])
    context = caller_context(body.get("context"), header_context)
    if caller.is_admin:
        context.update(_api_user(body.get("context"), header_context))
    # Running as someone else (the `user` field) is admin-only.
    user = body.get("user") or caller.username
    if user != caller.username and not caller.is_admin:
        raise AccessDenied("user: only administrators may run actions as another user.")
    return request_execution(
        body["action"],
        body.get("parameters") or {},
        user=user,
        staff=caller.is_admin,
        context=context,
        audited=(caller, "execution.launch"),
    )


def _api_user(*contexts):
    """StackStorm's `api_user` (who asked a chat bot, say), which an administrator's client
    may pass in the context; it is never taken from anyone else."""
    found = {}
    for context in contexts:
        if isinstance((context or {}).get("api_user"), str):
            found["api_user"] = context["api_user"]
    return found


def request_execution(
    action_ref, given, *, user, staff, context=None, parent=None, audited=None, **fields
):
    """Validate and record an execution in `requested` state; the worker picks it up.
    `audited`: (caller, audit action) to record in the audit log, in the same transaction."""
    action = Action.objects.filter(ref=action_ref).first()
    runner = None
    if action is not None and action.enabled:
        runner = RunnerType.objects.filter(name=action.runner_type).first()
    check_launchable(action_ref, action, runner)
    execution = new_execution(
        action, runner, given, user=user, staff=staff, context=context, parent=parent, **fields
    )
    with transaction.atomic():
        execution.save(force_insert=True)
        emit("st2.execution__create", execution)
        if audited is not None:
            audit.record(*audited, "execution", execution.id, audit.created(launched(execution)))
    return execution


def launched(execution):
    """What the audit log keeps of a launch: the parameters as shown (secrets masked)."""
    shown = {"action": execution.action_ref, "user": execution.user}
    shown["parameters"] = execution.parameters
    for key in ("re-run", "action_alias_ref"):
        if key in execution.context:
            shown[key] = execution.context[key]
    return shown


def check_launchable(action_ref, action, runner):
    """Refuse a missing or disabled action, one whose runner type is missing or disabled, or
    one whose runner this server cannot run (st2bridge.runners.unsupported)."""
    if action is None:
        raise InvalidInput(f'Action "{action_ref}" cannot be found.')
    if not action.enabled:
        raise InvalidInput(f'Unable to execute. Action "{action_ref}" is disabled.')
    if runner is None or not runner.enabled:
        raise InvalidInput(
            f'Runner "{action.runner_type}" of action "{action_ref}" is not available.'
        )
    unsupported = runners.unsupported(action.runner_type)
    if unsupported:
        raise InvalidInput(f'Unable to execute action "{action_ref}". {unsupported}')


def new_execution(action, runner, given, *, user, staff, data=(), context=None, parent=None,
                  prepared=None, **fields):  # fmt: skip
    """An unsaved `requested` execution of a launchable action: values checked, cast and
    rendered, secrets split out. `staff`: whether who launches it (the API caller, or a rule's
    owner) is staff, who alone may set runner parameters that change how the process starts
    (st2bridge.teams) and decrypt system secrets in templates. `data`: names of given values
    that are data, not templates (params.prepare_values). `prepared` is (merged parameters,
    action snapshot, runner snapshot) when the caller computed them already (rule dispatch
    does, once per action)."""
    merged, action_api, runner_api = prepared or (
        params.merge_parameters(runner.runner_parameters, action.parameters),
        catalog.action_to_api(action),
        catalog.runner_type_to_api(runner),
    )
    teams.check_runner_parameters(staff, runner.runner_parameters, merged, given)
    action_context = {**(context or {}), "user": user, "pack": action.pack}
    if parent is not None:
        action_context["parent"] = {"execution_id": parent.id, **parent.context}
    store = datastore_context(user, system_decrypt=staff)
    render_context = {**store, "action_context": action_context}
    config, renderer = None, render
    if _mentions("config_context", merged, given):
        config = configs.runtime_config(action.pack, user)
        render_context["config_context"] = config.values
        if not staff:
            renderer = _render_as_member(given, config.masked())
    shown, final = params.prepare_values(merged, given, render_context, data, render=renderer)
    if "env" in (runner.runner_parameters or {}):
        check_env(final.get("env"))  # 400 naming a denied variable, for staff too
    public, secret = _split_secrets(merged, shown, config.secrets if config else ())
    now = timezone.now()
    return Execution(
        action_ref=action.ref,
        action=action_api,
        runner=runner_api,
        parameters=public,
        secret_parameters=datastore.encrypt(json.dumps(secret)) if secret else "",
        user=user,
        context=action_context,
        start_timestamp=now,
        log=[{"status": Execution.REQUESTED, "timestamp": isotime(now)}],
        parent=parent,
        **fields,
    )


def _mentions(name, merged, given):
    """Whether a template among the defaults or the given values names `name`."""
    texts = [spec.get("default") for spec in merged.values()] + list(given.values())
    return any(params.is_template(text) and name in text for text in texts)


def _render_as_member(given, masked_config):
    """render() for a launch by someone who is not staff: their own templates see the pack
    config with its secrets masked (the action's defaults see it whole), so that no value
    they write can copy a secret of the config into parameters they read back."""

    def render_parameter(template, context, label):
        if label in given:
            context = {**context, "config_context": masked_config}
        return render(template, context, label)

    return render_parameter


def _split_secrets(merged, values, more_secrets=()):
    """(public, secret): secret parameters, and any value a secret (or a text of
    `more_secrets`, the pack config's secrets) was rendered into, are masked in `public` and
    kept with their real value in `secret` (stored encrypted)."""
    secret = {n: v for n, v in values.items() if merged.get(n, {}).get("secret")}
    texts = {str(v) for v in secret.values() if v not in (None, "")} | set(more_secrets)
    texts = sorted(texts, key=len, reverse=True)
    public = {}
    for name, value in values.items():
        if name in secret:
            public[name] = MASK
            continue
        public[name] = scrub(value, texts)
        if public[name] != value:
            secret[name] = value
    return public, secret


def stored_parameters(execution):
    """The recorded parameters with secret values restored (for the worker and re-runs)."""
    values = dict(execution.parameters)
    if execution.secret_parameters:
        values.update(json.loads(datastore.decrypt(execution.secret_parameters)))
    return values


def secret_values(execution):
    """The plaintext secret parameter values, longest first, to scrub from output."""
    if not execution.secret_parameters:
        return []
    values = json.loads(datastore.decrypt(execution.secret_parameters)).values()
    texts = {str(value) for value in values if value not in (None, "")}
    return sorted(texts, key=len, reverse=True)


def scrub(value, secrets):
    """`value` with every secret text replaced by the mask, inside strings, lists and dicts:
    an action that prints its password must not publish it in output or results."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, list):
        return [scrub(item, secrets) for item in value]
    if isinstance(value, dict):
        return {key: scrub(item, secrets) for key, item in value.items()}
    return value


def runner_values(execution):
    """Everything the runner receives: recorded values plus every plain default."""
    return params.with_defaults(merged_parameters(execution), stored_parameters(execution))


def re_run(caller, execution, body):
    """A new execution of the same action with the original parameters, overrides on top.
    Secrets are reused on the server only; they never travel back through the client. What
    the new execution carries counts as sent by the caller: runner parameters only staff may
    set are refused to others (403) even when the original carried them. An execution of a
    launch template is re-run through its template (st2bridge.launch_templates.re_run): here,
    it is refused, so that no caller reaches its action's parameters this way."""
    if (execution.context or {}).get("template"):
        raise InvalidInput(
            f'Execution "{execution.id}" ran a launch template: re-run it through the template.'
        )
    teams.check_may_run(caller.user, execution.action_ref)
    check_body(body, RERUN_SCHEMA)
    merged = merged_parameters(execution)
    original = {
        name: value
        for name, value in stored_parameters(execution).items()
        if not merged.get(name, {}).get("immutable")
    }
    overrides = {
        name: value
        for name, value in (body.get("parameters") or {}).items()
        if not (merged.get(name, {}).get("secret") and value in ("", MASK))
    }
    # The recorded values were rendered when the original ran: they are data now, whatever
    # text they hold, also when sent back unchanged (the portal's form sends every value).
    # The caller's other overrides are rendered, as at launch.
    recorded = frozenset(
        name for name in original if overrides.get(name, original[name]) == original[name]
    )
    return request_execution(
        execution.action_ref,
        {**original, **overrides},
        user=caller.username,
        staff=caller.is_admin,
        data=recorded,
        context={"re-run": {"ref": execution.id}},
        audited=(caller, "execution.rerun"),
    )


# --- reading -------------------------------------------------------------------------------

# StackStorm's execution filters (its execution_views.SUPPORTED_FILTERS): query parameter ->
# the field it matches. The same names are the keys `sort=` takes, and
# /executions/views/filters lists the values of each but those in UNLISTED_FILTERS.
FILTER_FIELDS = {
    "action": "action_ref",
    "status": "status",
    "liveaction": "id",  # an execution is its own liveaction here
    "parent": "parent_id",
    "rule": "origin__rule__name",
    "runner": "runner__name",
    "timestamp": "start_timestamp",
    "trigger": "origin__trigger__name",
    "trigger_type": "origin__trigger_type__name",
    "trigger_instance": "trigger_instance_id",
    "user": "user",
    # An extension (GET /extensions: execution_template_filter): the launch template run.
    "template": "context__template__ref",
}
# Not listed by /executions/views/filters: one value per row, or not StackStorm's (template).
UNLISTED_FILTERS = ("parent", "timestamp", "liveaction", "trigger_instance", "template")


def filter_values(executions, types=()):
    """GET /executions/views/filters: {filter: its distinct values among `executions`}, for
    the filters named in `types` (all listed ones when empty); missing values left out."""
    values = {}
    for name, field in FILTER_FIELDS.items():
        if name in UNLISTED_FILTERS or (types and name not in types):
            continue
        found = executions.order_by().values_list(field, flat=True).distinct()
        values[name] = sorted({value for value in found if value not in (None, "")})
    return values


def descendants(executions, execution, depth=-1):
    """GET /executions/{id}/children: the executions under `execution` (among `executions`),
    level by level, oldest first in each; `depth` levels, or all when negative."""
    found, parents, seen = [], [execution.id], {execution.id}
    while parents and depth != 0:
        level = [
            child
            for child in executions.filter(parent_id__in=parents).order_by("start_timestamp", "id")
            if child.id not in seen
        ]
        found.extend(level)
        parents = [child.id for child in level]
        seen.update(parents)
        depth -= 1
    return found


def output_text(execution, output_type=None):
    chunks = ExecutionOutput.objects.filter(execution=execution)
    if output_type and output_type != "all":
        chunks = chunks.filter(output_type=output_type)
    return "".join(chunks.values_list("data", flat=True))


# --- changing ------------------------------------------------------------------------------


def transition(execution, status, *, only_from, **fields):
    """Move to `status` if the row is still in one of `only_from` (a conditional UPDATE, so
    two processes never both win), append to the log, emit the update. True if it moved;
    either way `execution` then holds the row as it is. (st2bridge.lifecycle.transition
    also fires what a finished execution sets off: use that one.)

    One UPDATE writes the status, the fields and the log built from the copy in hand. It is
    conditional on the status that copy shows: every log entry comes with a status change, so
    an unchanged status means an unchanged log. If the status moved meanwhile, re-read the
    row and try again while it is still in `only_from` (statuses only move forward, so this
    ends)."""
    return _move_or_retry(execution, [(status, fields)], only_from)


def transition_through(moves, *, only_from):
    """transition() of many executions at once, each passing through one or more statuses
    in one UPDATE: `moves` is [(execution, [(status, fields), ...])], with a log entry and a
    stream event for each status; returns the executions that moved. One transaction holds
    all the UPDATEs and one INSERT of their stream events, so on SQLite the write lock is
    taken once for the whole batch. A row whose status moved meanwhile is re-read and tried
    again alone, as transition() does."""
    moved = _move_all([move for move in moves if move[0].status in only_from])
    done = {execution.pk for execution in moved}
    late = [
        execution
        for execution, steps in moves
        if execution.pk not in done and _move_or_retry(execution, steps, only_from)
    ]
    return moved + late


def _move_or_retry(execution, steps, only_from):
    while True:
        if execution.status in only_from and _move_all([(execution, steps)]):
            return True
        execution.refresh_from_db()
        if execution.status not in only_from:
            return False


class _Move:
    """One compare-and-set UPDATE of an execution through one or more statuses, and a stream
    event for each, prepared before the transaction (on SQLite it holds the only write lock)."""

    def __init__(self, execution, steps):
        now = timezone.now()
        self.execution = execution
        # Conditional on the status the copy in hand shows (see transition()).
        where = {"id": execution.pk, "status": execution.status}
        self.changes, self.events = {}, []
        after = copy.copy(execution)
        for status, fields in steps:
            step = {
                "status": status,
                "log": [*after.log, {"status": status, "timestamp": isotime(now)}],
                **fields,
            }
            if status in Execution.COMPLETED:
                step["end_timestamp"] = now
            _set(after, step)
            self.changes.update(step)
            self.events.append(stream_event("st2.execution__update", after))
        self.update = prepared_update(Execution, self.changes, where)

    def apply(self):
        _set(self.execution, self.changes)
        return self.execution


def _set(execution, changes):
    for name, value in changes.items():
        setattr(execution, name, value)


def _move_all(moves):
    """The moves that find their row unchanged, in one transaction; returns the executions
    moved (they then hold the new values)."""
    if not moves:
        return []
    planned = [_Move(*move) for move in moves]
    event_sql, event_rows = prepared_insert([e for move in planned for e in move.events])
    moved, rows = [], []
    # No savepoint when nested (a worker's claim): any error here aborts the whole claim.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        for move in planned:
            cursor.execute(*move.update)
            events, event_rows = event_rows[: len(move.events)], event_rows[len(move.events) :]
            if cursor.rowcount:
                moved.append(move)
                rows.extend(events)
        if rows:
            cursor.executemany(event_sql, rows)
    return [move.apply() for move in moved]


def emit(name, execution):
    """Record a stream event carrying the execution as the API shows it (secrets masked)."""
    stream_event(name, execution).save(force_insert=True)


def stream_event(name, execution):
    """The (unsaved) stream event of `execution`; rule dispatch saves them in bulk."""
    return StreamEvent(
        name=name, execution_id=execution.id, user=execution.user, data=to_api(execution)
    )


# --- the API shape (st2bridge.shapes.EXECUTION) -------------------------------------------


def to_api(execution, unmasked=False):
    """StackStorm's execution object; like StackStorm, falsy values are left out, and so are
    `result` and `result_size` when the result was not read (a list deferred it), and what
    started it when `origin` was not read. A rule-started execution recorded before origins
    were kept shows its rule's ref and its trigger instance's id only."""
    parameters = stored_parameters(execution) if unmasked else execution.parameters
    ended = execution.end_timestamp
    deferred = execution.get_deferred_fields()
    result = None if "result" in deferred else execution.result
    origin = {} if "origin" in deferred else execution.origin
    instance_id = execution.trigger_instance_id
    data = {
        "id": execution.id,
        "action": execution.action,
        "runner": execution.runner,
        "liveaction": {
            "id": execution.id,
            "action": execution.action_ref,
            "action_is_workflow": False,
            "parameters": parameters,
            "callback": {},
            "runner_info": {"worker": execution.worker} if execution.worker else {},
        },
        "status": execution.status,
        "start_timestamp": isotime(execution.start_timestamp),
        "end_timestamp": isotime(ended),
        "elapsed_seconds": round((ended - execution.start_timestamp).total_seconds(), 3)
        if ended
        else None,
        "parameters": parameters,
        "context": execution.context,
        "result": result,
        "result_size": len(json.dumps(result)) if result else 0,
        "log": execution.log,
        "web_url": f"/executions/{execution.id}",
        "parent": execution.parent_id,
        "rule": origin.get("rule") or ({"ref": execution.rule_ref} if execution.rule_ref else None),
        "trigger": origin.get("trigger"),
        "trigger_type": origin.get("trigger_type"),
        "trigger_instance": origin.get("trigger_instance")
        or ({"id": instance_id} if instance_id else None),
    }
    return {key: value for key, value in data.items() if value or key == "status"}


def output_to_api(execution, chunk):
    """The st2.execution.output__create event body for one output chunk."""
    return {
        "id": str(chunk.id),
        "execution_id": execution.id,
        "action_ref": execution.action_ref,
        "runner_ref": execution.runner.get("name"),
        "timestamp": isotime(chunk.timestamp),
        "output_type": chunk.output_type,
        "data": chunk.data,
    }
