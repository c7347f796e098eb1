"""An execution's lifecycle: the status transitions the worker and the API record, and what a
finished execution sets off, StackStorm's core.st2.generic.actiontrigger for the rules that use
it (which may request more executions), and core.st2.template.execution_failed for a failed
execution launched from a template (st2bridge.server_events).

This module sits above st2bridge.executions (which records a transition, compare-and-set) and
st2bridge.dispatch (which enforces rules and requests executions through executions): neither
of them imports the other's caller, so there is no import circle. Move an execution through
this module, never through executions.transition directly, or its action trigger is lost.
"""

from . import access, audit, dispatch, executions, server_events
from .bodies import check_body
from .constants import ACTION_TRIGGER
from .errors import InvalidInput
from .models import Execution, Rule, Trigger
from .rows import select_rows

# PUT /executions/{id} (StackStorm's ExecutionUpdateRequest): every status StackStorm knows,
# pausing and resuming included, which only workflow runners support.
UPDATE_SCHEMA = {
    "type": "object",
    "properties": {
        "status": {
            "enum": [
                "requested", "scheduled", "delayed", "running", "succeeded", "failed",
                "timeout", "abandoned", "canceling", "canceled", "pending", "pausing",
                "paused", "resuming",
            ]
        },
        "result": {"type": "object"},
    },
    "additionalProperties": False,
}  # fmt: skip
WORKFLOW_RUNNERS = ("action-chain", "orquesta")  # metadata only here: none ever runs
LIVE = (Execution.REQUESTED, Execution.SCHEDULED, Execution.RUNNING, Execution.CANCELING)
SETTABLE = (Execution.REQUESTED, Execution.SCHEDULED, Execution.RUNNING, *Execution.COMPLETED)


def transition(execution, status, *, only_from, **fields):
    """executions.transition(), then the action trigger if the execution finished. True if
    it moved; either way `execution` then holds the row as it is."""
    moved = executions.transition(execution, status, only_from=only_from, **fields)
    if moved:
        emit_action_triggers([execution])
    return moved


def transition_through(moves, *, only_from):
    """executions.transition_through() (many executions, each through one or more statuses,
    in one transaction), then the action triggers of those that finished. Returns the
    executions that moved."""
    moved = executions.transition_through(moves, only_from=only_from)
    emit_action_triggers(moved)
    return moved


def cancel(caller, execution):
    """DELETE /executions/{id}. A requested execution is canceled at once; a running one is
    marked `canceling` and its worker kills the process tree and records `canceled`. False if
    it can no longer be canceled."""
    if execution.status not in Execution.CANCELABLE:
        return False
    result = {"message": "Action canceled by user.", "user": caller.username}
    was = execution.status
    if not transition(
        execution, Execution.CANCELED, only_from=(Execution.REQUESTED,), result=result
    ):
        transition(
            execution, Execution.CANCELING, only_from=(Execution.SCHEDULED, Execution.RUNNING)
        )
    changes = {"status": [was, execution.status]}
    audit.record(caller, "execution.cancel", "execution", execution.id, changes)
    return True


def update(caller, execution, body):
    """PUT /executions/{id}, as StackStorm answers it. Canceling is DELETE's cancel; pausing
    and resuming are refused, with StackStorm's messages (they need a workflow runner, and
    no workflow runs here); any other status (and result) is set as given, by administrators
    only: it records an outcome nobody ran. Returns the execution as it is then."""
    check_body(body, UPDATE_SCHEMA)
    if execution.status in Execution.COMPLETED:
        raise InvalidInput("Execution is already in completed state.")
    status = body.get("status")
    if status in ("pausing", "paused", "resuming"):
        raise InvalidInput(f"Failed updating execution. {_why_not(execution, status)}")
    if status in (Execution.CANCELING, Execution.CANCELED):
        cancel(caller, execution)
        return execution
    access.require_admin(
        caller,
        refusal=f'User "{caller.username}" may not set an execution\'s status: administrator '
        "access is required (cancel it with DELETE).",
    )
    if status is None:
        raise InvalidInput("status: give the status to set (with its result).")
    if status not in SETTABLE:
        raise InvalidInput(f'status: "{status}" is not a status of this server\'s executions.')
    fields = {"result": body["result"]} if "result" in body else {}
    transition(execution, status, only_from=LIVE, **fields)
    return execution


def _why_not(execution, status):
    runner = execution.runner.get("name")
    verb = "resume" if status == "resuming" else "pause"
    if runner not in WORKFLOW_RUNNERS:
        return (
            f'Unable to {verb} liveaction "{execution.id}" because it is not supported by the '
            f'"{runner}" runner.'
        )
    if verb == "pause":
        return f'Unable to pause liveaction "{execution.id}" because it is not in a running state.'
    return (
        f'Unable to resume liveaction "{execution.id}" because it is in "{execution.status}" '
        'state and not in "paused" state.'
    )


def emit_action_triggers(moved):
    """Each finished execution of `moved` fires core.st2.generic.actiontrigger (secrets
    masked), when an enabled rule uses it: one indexed query for the whole batch otherwise
    (the worker asks after every run). Each execution's trigger instance and what it starts
    commit together, after the transition committed. A failed execution of a template also
    fires core.st2.template.execution_failed."""
    server_events.emit_template_failures(moved)
    finished = [execution for execution in moved if execution.status in Execution.COMPLETED]
    if not finished:
        return
    in_use = {"trigger_ref": [ACTION_TRIGGER], "enabled": [True]}
    if not select_rows(Rule, ("id",), in_use, limit=1):
        return
    trigger = Trigger.objects.filter(ref=ACTION_TRIGGER).first()
    if trigger is None:
        return
    for execution in finished:
        context = {
            "rule_depth": dispatch.rule_depth(execution.context),
            "execution_id": execution.id,
        }
        payload = _action_trigger_payload(execution)
        dispatch.dispatch(trigger, payload, context, posted_by=execution.user)


def _action_trigger_payload(execution):
    return {
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
