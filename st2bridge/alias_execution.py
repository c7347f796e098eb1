"""Running an action through its alias (StackStorm's /aliasexecution and
/aliasexecution/match_and_execute): the command's words become parameters
(st2bridge.alias_formats), the alias's immutable parameters are added, and the action is
launched through the same path as POST /executions, as the caller: their teams must let them
run the action, runner parameters only staff may set stay refused to others, and the values
are cast and validated as at launch. An alias launches nothing its caller could not launch
directly.

Unlike StackStorm, the values taken from a command are data, never templates: a chat user's
`{{ st2kv.system.password }}` stays that text. The alias's immutable parameters (written by an
administrator) render as any launch parameter does. The chat user named in the body is
recorded as the execution's `api_user` only when an administrator (a chat bot's account)
launches it: the server reads identities from that key."""

from . import access, alias_formats, aliases, catalog, executions, teams
from .bodies import check_body
from .errors import InvalidInput, NotFound
from .templating import render

_TEXT = {"type": "string"}
EXECUTE_SCHEMA = {
    "type": "object",
    "required": ["name", "format", "command", "source_channel"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "format": _TEXT,
        "command": _TEXT,
        "user": _TEXT,
        "source_channel": _TEXT,
        "source_context": {"type": "object"},
        "notification_channel": _TEXT,
        "notification_route": _TEXT,
    },
    "additionalProperties": False,
}
MATCH_AND_EXECUTE_SCHEMA = {
    "type": "object",
    "required": ["command", "source_channel"],
    "properties": {
        "command": _TEXT,
        "user": _TEXT,
        "source_channel": _TEXT,
        "notification_channel": _TEXT,
        "notification_route": _TEXT,
    },
    "additionalProperties": False,
}
MATCH_SCHEMA = {
    "type": "object",
    "required": ["command"],
    "properties": {"command": _TEXT},
    "additionalProperties": False,
}


def match(caller, body):
    """POST /actionalias/match: the one alias format among those the caller sees that the
    command fits: (alias, display, representation)."""
    check_body(body, MATCH_SCHEMA)
    found = alias_formats.matching(body["command"], access.visible_aliases(caller))
    return found.alias, found.display, found.representation


def execute(caller, body, unmasked=False):
    """POST /aliasexecution: one execution of the named alias."""
    check_body(body, EXECUTE_SCHEMA)
    alias = aliases.by_name(caller, body["name"])
    if alias is None:
        raise NotFound(f'Unable to identify action alias with name "{body["name"]}".')
    return _run(caller, alias, body["format"], body, unmasked, multiple=False)[0]


def match_and_execute(caller, body, unmasked=False):
    """POST /aliasexecution/match_and_execute: the alias the command matches, run once per
    match of its format (several for a `match_multiple` format)."""
    check_body(body, MATCH_AND_EXECUTE_SCHEMA)
    found = alias_formats.matching(body["command"], access.visible_aliases(caller))
    return _run(
        caller, found.alias, found.representation, body, unmasked, multiple=found.match_multiple
    )


def _run(caller, alias, representation, body, unmasked, multiple):
    if not alias.enabled:
        raise InvalidInput(f'Action alias with name "{alias.name}" is disabled.')
    if representation not in alias_formats.format_strings(alias.formats):
        raise InvalidInput(
            f'Format string "{representation}" is not available on the alias "{alias.name}"'
        )
    try:
        extracted = alias_formats.extract(representation, body["command"], multiple)
    except alias_formats.NoMatch as error:
        raise InvalidInput(str(error)) from None
    teams.check_may_run(caller.user, alias.action_ref)  # before the action is looked up
    message = f'Action with ref "{alias.action_ref}" not found '
    merged = catalog.merged_parameters(access.find_action(caller, alias.action_ref, message))
    context = {
        "action_alias_ref": alias.ref,
        "user": caller.username,
        "api_user": body.get("user") if caller.is_admin and body.get("user") else caller.username,
        "source_channel": body["source_channel"],
    }
    return [
        _launch(caller, alias, values, merged, context, unmasked)
        for values in (extracted if multiple else [extracted])
    ]


def _launch(caller, alias, values, merged, context, unmasked):
    overridden = sorted(name for name in alias.immutable_parameters if name in values)
    if overridden:
        raise InvalidInput(f"Immutable arguments cannot be overriden: {','.join(overridden)}")
    given = {name: _cast(merged.get(name) or {}, value) for name, value in values.items()}
    execution = executions.request_execution(
        alias.action_ref,
        {**given, **alias.immutable_parameters},
        user=caller.username,
        staff=caller.is_admin,
        data=frozenset(given),
        context=context,
        audited=(caller, "execution.launch"),
    )
    result = {
        "execution": executions.to_api(execution, unmasked),
        "actionalias": aliases.alias_to_api(alias),
    }
    result.update(_acknowledgement(alias.ack, result))
    return result


def _cast(spec, value):
    """A command's text for an array parameter is a comma-separated list (StackStorm's alias
    cast); other types are cast at launch, as any given value."""
    if spec.get("type") == "array" and isinstance(value, str):
        return [item.strip() for item in value.split(",")]
    return value


def _acknowledgement(ack, result):
    """`message` (the ack format rendered with the execution and the alias) and `extra`, as
    StackStorm adds them; a template that fails to render says so in their place."""
    added = {}
    if "format" in ack:
        try:
            added["message"] = render(ack["format"], result, "ack.format")
        except InvalidInput as error:
            added["message"] = f'Cannot render "format" in field "ack" for alias. {error.message}'
    if "extra" in ack:
        try:
            added["extra"] = _rendered(ack["extra"], result)
        except InvalidInput as error:
            added["extra"] = f'Cannot render "extra" in field "ack" for alias. {error.message}'
    return added


def _rendered(value, context):
    if isinstance(value, dict):
        return {key: _rendered(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [_rendered(item, context) for item in value]
    if isinstance(value, str):
        return render(value, context, "ack.extra")
    return value
