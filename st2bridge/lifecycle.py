"""An execution's lifecycle: the status transitions the worker and the API record, and what a
finished execution sets off, StackStorm's core.st2.generic.actiontrigger for the rules that use
it (which may request more executions).

This module sits above st2bridge.executions (which records a transition, compare-and-set) and
st2bridge.dispatch (which enforces rules and requests executions through executions): neither
of them imports the other's caller, so there is no import circle. Move an execution through
this module, never through executions.transition directly, or its action trigger is lost.
"""

from . import dispatch, executions
from .models import Execution, Rule, Trigger
from .rows import select_rows


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
    if transition(execution, Execution.CANCELED, only_from=(Execution.REQUESTED,), result=result):
        return True
    transition(execution, Execution.CANCELING, only_from=(Execution.SCHEDULED, Execution.RUNNING))
    return True


def emit_action_triggers(moved):
    """Each finished execution of `moved` fires core.st2.generic.actiontrigger (secrets
    masked), when an enabled rule uses it: one indexed query for the whole batch otherwise
    (the worker asks after every run). Each execution's trigger instance and what it starts
    commit together, after the transition committed."""
    finished = [execution for execution in moved if execution.status in Execution.COMPLETED]
    if not finished:
        return
    in_use = {"trigger_ref": [dispatch.ACTION_TRIGGER], "enabled": [True]}
    if not select_rows(Rule, ("id",), in_use, limit=1):
        return
    trigger = Trigger.objects.filter(ref=dispatch.ACTION_TRIGGER).first()
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
