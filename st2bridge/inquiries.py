"""Inquiries (StackStorm's /inquiries): executions of the `inquirer` runner waiting, `pending`,
for someone's answer. Workflows ask them, and no workflow runs here (the inquirer runner is
metadata only), so there are none: the list is empty, as on a StackStorm without workflows,
and an execution named as one is either unknown (404) or not an inquiry (400)."""

from . import access
from .errors import InvalidInput

INQUIRER = "inquirer"
PENDING = "pending"
RESPONSE_SCHEMA = {
    "type": "object",
    "properties": {"id": {"type": "string"}, "response": {"type": "object"}},
}


def visible_inquiries(caller):
    """Pending inquirer executions the caller sees."""
    executions = access.visible_executions(caller)
    return executions.filter(runner__name=INQUIRER, status=PENDING)


def find_inquiry(caller, inquiry_id):
    execution = access.find_execution(caller, inquiry_id)
    if execution.runner.get("name") != INQUIRER or execution.status != PENDING:
        raise InvalidInput(f'Action execution "{execution.id}" is not an inquiry.')
    return execution


def respond(caller, inquiry, body):
    """PUT /inquiries/{id}: an answer resumes the workflow that asked, and no workflow runs
    here (find_inquiry finds no inquiry before this is reached)."""
    raise InvalidInput(
        f'Inquiry "{inquiry.id}" cannot be answered here: answers resume workflows, which '
        "this server does not run."
    )


def inquiry_to_api(execution):
    """StackStorm's Inquiry object: the inquirer's parameters, the execution's id."""
    parameters = execution.parameters or {}
    return {
        "id": execution.id,
        "route": parameters.get("route", ""),
        "ttl": parameters.get("ttl", 1440),
        "users": parameters.get("users", []),
        "roles": parameters.get("roles", []),
        "schema": parameters.get("schema", {}),
    }
