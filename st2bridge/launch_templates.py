"""Launch templates (issue 18): an action with some parameters fixed by staff and the others
exposed, maybe narrowed, which a team may be granted and run without being granted the action.

A template's definition (one LaunchTemplateVersion, never changed once written):

    {"name": ..., "description": ..., "action": "pack.name",
     "parameters": {name: {"mode": "fixed", "value": v, "shown": bool}
                        | {"mode": "exposed", "default"?, "enum"?, "minimum"?, "maximum"?,
                           "pattern"?, "required"?}}}

A parameter the template does not list keeps the action's default and cannot be set either.
Narrowing is checked against the action's schema when the template is saved: an enum must be
a subset of the action's (or values the action accepts), minimum and maximum within the
action's, fixed values and defaults valid for the action. Secret parameters may be exposed
(without a default), not fixed: the value would sit in the template. The runner parameters only
staff set (st2bridge.teams.RESTRICTED_RUNNER_PARAMETERS) and those the action makes immutable
are left out of templates: members' runs would be refused them.

Running (run, re_run) is the only way a template's parameters reach its action: the values
exposed are checked against the narrowed schema, then the action's own checks apply as for
any launch (st2bridge.executions.request_execution). Values a caller gives are data, never
rendered as Jinja, so no template text can step around a narrowing after it was checked;
fixed values, written by staff, are rendered. The execution's context says
{"template": {"ref", "version"}}; callers cannot set that key themselves
(executions.RESERVED_CONTEXT_KEYS). Who may run a template is st2bridge.teams's (a grant of
the template; admins run every one), who may see one st2bridge.access's.

Re-running an execution of a template goes through the template as it is now (its current
version): the original run's exposed values are kept, the fixed ones are taken from the
current version, the caller may change exposed values only. So a re-run never brings back a
value staff have since changed, and a member who lost the template cannot re-run it.
"""

import re

import jsonschema
import yaml
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q

from . import access, audit, executions, params, teams
from .bodies import check_body, describe
from .constants import MASK
from .errors import Conflict, InvalidInput, NotFound, St2Error
from .formats import isotime
from .models import Action, LaunchTemplate, LaunchTemplateVersion, RunnerType
from .records import refuse_duplicate

FIXED, EXPOSED = "fixed", "exposed"
REF = r"^[\w-]+\.[\w.-]+$"
MAX_YAML_BYTES = 64 * 1024
MAX_PATTERN = 500
NARROWING = ("enum", "minimum", "maximum", "pattern")

_PARAMETER = {
    "type": "object",
    "required": ["mode"],
    "properties": {
        "mode": {"enum": [FIXED, EXPOSED]},
        "value": {},
        "shown": {"type": "boolean"},
        "default": {},
        "enum": {"type": "array", "minItems": 1, "maxItems": 500},
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
        "pattern": {"type": "string", "minLength": 1, "maxLength": MAX_PATTERN},
        "required": {"type": "boolean"},
    },
    "additionalProperties": False,
}
SCHEMA = {
    "type": "object",
    "required": ["ref", "name", "action"],
    "properties": {
        "ref": {"type": "string", "pattern": REF, "maxLength": 400},
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "description": {"type": "string", "maxLength": 4000},
        "action": {"type": "string", "minLength": 1, "maxLength": 400},
        "parameters": {
            "type": "object",
            "patternProperties": {r"^\w+$": _PARAMETER},
            "additionalProperties": False,
            "maxProperties": 200,
        },
        # What GET shows and a client may send back as it got it: the server's, ignored.
        "id": {"type": "string"},
        "version": {"type": "integer"},
        "created_by": {"type": "string"},
        "created_at": {"type": "string"},
        "updated_at": {"type": "string"},
        "parameters_schema": {"type": "object"},
    },
    "additionalProperties": False,
}
RUN_SCHEMA = {
    "type": "object",
    "properties": {"parameters": {"type": ["object", "null"]}},
    "additionalProperties": False,
}
SERVER_FIELDS = ("id", "version", "created_by", "created_at", "updated_at", "parameters_schema")


class TooLarge(St2Error):
    status = 413


# --- checking a definition against its action -------------------------------------------


def action_schema(action_ref):
    """The action's merged parameters and its runner's own, or InvalidInput naming `action`."""
    action = Action.objects.filter(ref=action_ref).first()
    runner = action and RunnerType.objects.filter(name=action.runner_type).first()
    if runner is None:
        raise InvalidInput(f'action: action "{action_ref}" is not registered.')
    runner_parameters = runner.runner_parameters or {}
    return params.merge_parameters(runner_parameters, action.parameters), runner_parameters


def check_definition(body):
    """The definition (name, description, action, parameters) of a template body, checked
    against its action's schema; InvalidInput naming the field."""
    check_body(body, SCHEMA)
    merged, runner_parameters = action_schema(body["action"])
    parameters = body.get("parameters") or {}
    for name, entry in parameters.items():
        where = f"parameters.{name}"
        spec = merged.get(name)
        if spec is None:
            raise InvalidInput(f'{where}: not a parameter of action "{body["action"]}".')
        if spec.get("immutable"):
            raise InvalidInput(f"{where}: the action makes it immutable: leave it out.")
        if name in teams.RESTRICTED_RUNNER_PARAMETERS and name in runner_parameters:
            # Members' runs would be refused it (403): leave it to the action's metadata.
            reason = teams.RESTRICTED_RUNNER_PARAMETERS[name]
            raise InvalidInput(f"{where}: only staff may set this runner parameter ({reason}).")
        if entry["mode"] == FIXED:
            _check_fixed(where, name, spec, entry)
        else:
            _check_exposed(where, name, spec, entry)
    for name, spec in merged.items():
        if spec.get("required") and spec.get("default") is None and name not in parameters:
            raise InvalidInput(f"parameters.{name}: the action requires it: fix it or expose it.")
    return {
        "name": body["name"],
        "description": body.get("description", ""),
        "action": body["action"],
        "parameters": {name: _normalised(entry) for name, entry in sorted(parameters.items())},
    }


def _normalised(entry):
    if entry["mode"] == FIXED:
        return {"mode": FIXED, "value": entry["value"], "shown": bool(entry.get("shown"))}
    return entry


def _check_fixed(where, name, spec, entry):
    extra = sorted(set(entry) - {"mode", "value", "shown"})
    if extra:
        raise InvalidInput(f"{where}.{extra[0]}: only exposed parameters take it.")
    if "value" not in entry:
        raise InvalidInput(f"{where}.value: a fixed parameter needs its value.")
    if spec.get("secret"):
        raise InvalidInput(
            f"{where}: a secret parameter cannot be fixed (its value would be kept in the "
            "template); expose it, or leave it to the action's default."
        )
    entry["value"] = _valid_value(f"{where}.value", name, spec, entry["value"])


def _check_exposed(where, name, spec, entry):
    if "value" in entry or "shown" in entry:
        key = "value" if "value" in entry else "shown"
        raise InvalidInput(f"{where}.{key}: only fixed parameters take it (use default).")
    if spec.get("secret") and "default" in entry:
        raise InvalidInput(f"{where}.default: a secret's default would be kept in the template.")
    kind = spec.get("type")
    if "enum" in entry:
        # Each choice valid for the action: within the action's own enum, if it has one.
        entry["enum"] = [
            _valid_value(f"{where}.enum", name, spec, value) for value in entry["enum"]
        ]
    for bound in ("minimum", "maximum"):
        if bound in entry:
            _check_bound(f"{where}.{bound}", bound, spec, entry[bound], kind)
    low, high = (entry.get(bound, spec.get(bound)) for bound in ("minimum", "maximum"))
    if low is not None and high is not None and low > high:
        raise InvalidInput(f"{where}.minimum: {low} is above the maximum {high}.")
    if "pattern" in entry:
        if kind != "string":
            raise InvalidInput(f"{where}.pattern: only string parameters take a pattern.")
        try:
            re.compile(entry["pattern"])
        except re.error as error:
            raise InvalidInput(f"{where}.pattern: not a regular expression ({error}).") from None
    if entry.get("default") is not None:
        value = _valid_value(f"{where}.default", name, spec, entry["default"])
        entry["default"] = value
        _check_narrowed(f"{where}.default", narrowed_spec(spec, entry), value)


def _check_bound(where, bound, spec, value, kind):
    if kind not in ("integer", "number"):
        raise InvalidInput(f"{where}: only integer and number parameters take a {bound}.")
    limit = spec.get(bound)
    if limit is not None and (value < limit if bound == "minimum" else value > limit):
        side = "below" if bound == "minimum" else "above"
        raise InvalidInput(f"{where}: {value} is {side} the action's {bound} {limit}.")


def _valid_value(where, name, spec, value):
    """`value` cast as the action casts it and valid for the action's schema of `name`;
    a value holding Jinja is checked when it renders, at launch."""
    if params.holds_template(value):
        return value
    try:
        value = params.cast_value(name, spec, value)
    except InvalidInput as error:
        raise InvalidInput(f"{where}: {error.message.split(': ', 1)[-1]}") from None
    _check_narrowed(where, spec, value)
    return value


def _check_narrowed(where, spec, value):
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft4Validator(params.to_json_schema(spec)).iter_errors(value)
    )
    if error is not None:
        raise InvalidInput(f"{where}: {describe(error)}")


def narrowed_spec(spec, entry):
    """The action's schema of one exposed parameter, narrowed as the template says."""
    narrowed = {**spec, **{key: entry[key] for key in NARROWING if key in entry}}
    if entry.get("default") is not None:
        narrowed["default"] = entry["default"]
    if entry.get("required"):
        narrowed["required"] = True
    return narrowed


def form_schema(definition, merged):
    """The parameters a form of the template shows, as an action's merged parameters: each
    exposed one narrowed, each fixed one `shown` as an immutable parameter whose default is
    its value (read-only); hidden fixed ones and parameters the template leaves out are not
    there."""
    schema = {}
    for name, entry in definition["parameters"].items():
        spec = merged.get(name, {})
        if entry["mode"] == EXPOSED:
            schema[name] = narrowed_spec(spec, entry)
        elif entry.get("shown"):
            schema[name] = {**spec, "default": entry["value"], "immutable": True}
    return schema


# --- reading --------------------------------------------------------------------------------


def current(template):
    return LaunchTemplateVersion.objects.get(ref=template.ref, version=template.version)


def templates_to_api(templates, is_admin):
    """Each template as the API answers it, in three queries whatever their number: their
    current versions, their actions and those actions' runner types."""
    templates = list(templates)
    if not templates:
        return []
    current_versions = Q()
    for template in templates:
        current_versions |= Q(ref=template.ref, version=template.version)
    versions = {
        (version.ref, version.version): version
        for version in LaunchTemplateVersion.objects.filter(current_versions)
    }
    actions = list(Action.objects.filter(ref__in={template.action_ref for template in templates}))
    runners = {
        runner.name: runner.runner_parameters
        for runner in RunnerType.objects.filter(name__in={a.runner_type for a in actions})
    }
    schemas = {
        action.ref: params.merge_parameters(runners[action.runner_type], action.parameters)
        for action in actions
        if action.runner_type in runners
    }
    return [
        to_api(
            template,
            versions[(template.ref, template.version)],
            is_admin,
            schemas.get(template.action_ref, {}),
        )
        for template in templates
    ]


def to_api(template, version, is_admin, merged):
    """A template as the API answers it (st2bridge.shapes.LAUNCH_TEMPLATE), `merged` its
    action's parameters ({} when the action is gone). Members do not see the values of hidden
    fixed parameters."""
    definition = version.definition
    shown = {
        name: entry
        for name, entry in definition["parameters"].items()
        if is_admin or entry["mode"] == EXPOSED or entry.get("shown")
    }
    return {
        "id": template.id,
        "ref": template.ref,
        "name": definition["name"],
        "description": definition["description"],
        "action": definition["action"],
        "version": template.version,
        "parameters": shown,
        "parameters_schema": form_schema(definition, merged),
        "created_by": template.created_by,
        "created_at": isotime(template.created_at),
        "updated_at": isotime(template.updated_at),
    }


def version_to_api(version):
    """One version (st2bridge.shapes.LAUNCH_TEMPLATE_VERSION), for admins."""
    return {
        "ref": version.ref,
        "version": version.version,
        **version.definition,
        "created_by": version.created_by,
        "created_at": isotime(version.created_at),
    }


def visible_templates(caller, action=None):
    templates = access.visible_templates(caller)
    return templates.filter(action_ref=action) if action else templates


def find(caller, ref_or_id):
    return access.find_template(caller, ref_or_id)


def versions(caller, ref):
    """Every version of a template, oldest first (admins; kept after the template is
    deleted, so an execution's version can still be read)."""
    _refuse_non_admin(caller)
    found = LaunchTemplateVersion.objects.filter(ref=ref)
    if not found.exists():
        raise NotFound(f'Launch template "{ref}" not found')
    return found


def find_version(caller, ref, number):
    _refuse_non_admin(caller)
    found = LaunchTemplateVersion.objects.filter(ref=ref, version=number).first()
    if found is None:
        raise NotFound(f'Launch template "{ref}" has no version {number}')
    return found


# --- changing (admins) ----------------------------------------------------------------------


def _refuse_non_admin(caller):
    access.require_admin(
        caller,
        refusal=f'User "{caller.username}" may not change launch templates: administrator '
        "access is required.",
    )


def create(caller, body):
    _refuse_non_admin(caller)
    definition = check_definition(body)
    ref = body["ref"]
    template = LaunchTemplate(ref=ref, action_ref=definition["action"], version=0)
    template.created_by = caller.username
    message = f'Launch template "{ref}" already exists.'
    refuse_duplicate(template, message)
    try:
        with transaction.atomic():
            _add_version(caller, template, definition)
            audit.record(caller, "template.create", "template", ref, audit.created(definition))
    except IntegrityError:  # another request created it (or a version of it) meanwhile
        refuse_duplicate(template, message)
        raise
    return template


def update(caller, ref_or_id, body):
    """A new version of the template; the ref does not change."""
    _refuse_non_admin(caller)
    template = find(caller, ref_or_id)
    if body.get("ref", template.ref) != template.ref:
        raise InvalidInput(f'ref: a template\'s ref does not change (it is "{template.ref}").')
    definition = check_definition({**body, "ref": template.ref})
    before = current(template).definition
    try:
        with transaction.atomic():
            template = LaunchTemplate.objects.select_for_update().get(pk=template.pk)
            template.action_ref = definition["action"]
            _add_version(caller, template, definition)
            changes = audit.diff(before, definition)
            audit.record(caller, "template.update", "template", template.ref, changes)
    except IntegrityError:  # SQLite has no row lock: another edit took the version number
        raise Conflict(
            f'Launch template "{template.ref}" was changed by another request meanwhile; '
            "read it again and retry.",
            str(template.pk),
        ) from None
    return template


def _add_version(caller, template, definition):
    """Write the next version (after every version this ref ever had) and point at it."""
    last = LaunchTemplateVersion.objects.filter(ref=template.ref).aggregate(n=Max("version"))
    template.version = (last["n"] or 0) + 1
    template.save()
    LaunchTemplateVersion.objects.create(
        ref=template.ref,
        version=template.version,
        definition=definition,
        created_by=caller.username,
    )


def delete(caller, ref_or_id):
    """The template goes; its versions stay, for the executions that ran them."""
    _refuse_non_admin(caller)
    template = find(caller, ref_or_id)
    with transaction.atomic():
        template.delete()
        changes = audit.deleted(current(template).definition)
        audit.record(caller, "template.delete", "template", template.ref, changes)


# --- YAML -----------------------------------------------------------------------------------


def export_yaml(caller, ref_or_id):
    _refuse_non_admin(caller)
    template = find(caller, ref_or_id)
    definition = current(template).definition
    document = {"ref": template.ref, **definition}
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def import_yaml(caller, raw):
    """(template, created): the template a YAML document (UTF-8 bytes) describes, created, or
    given a new version when its ref exists. yaml.safe_load only, on at most MAX_YAML_BYTES,
    with no aliases (a few bytes of them expand to millions of nodes)."""
    _refuse_non_admin(caller)
    if len(raw) > MAX_YAML_BYTES:
        raise TooLarge(f"body: a template document is at most {MAX_YAML_BYTES} bytes.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("body: a template document is UTF-8 text.") from None
    if _flow_depth(text) > settings.ST2_MAX_JSON_DEPTH:
        raise InvalidInput("body: nested too deep.")
    try:
        if any(isinstance(token, yaml.AliasToken) for token in yaml.scan(text)):
            raise InvalidInput("body: YAML aliases (*name) are not accepted.")
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InvalidInput(f"body: not valid YAML ({_first_line(error)}).") from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise InvalidInput("body: nested too deep.") from None
    if not isinstance(document, dict):
        raise InvalidInput("body: a template document is a mapping (ref, name, action, ...).")
    _check_json_values(document, "", settings.ST2_MAX_JSON_DEPTH)
    ref = document.get("ref")
    if isinstance(ref, str) and LaunchTemplate.objects.filter(ref=ref).exists():
        return update(caller, ref, document), False
    return create(caller, document), True


def _flow_depth(text):
    """How deep [ and { nest in `text`, counted everywhere (in quotes and comments too, so it
    never says less than the YAML nests): PyYAML's scanner takes time growing with the square
    of it (64 KiB of "[" took half a minute), so it is measured first, in one pass. A document
    refused for brackets in its texts has more of them open at once than a template needs."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(0, depth - 1)
    return deepest


def _first_line(error):
    return str(error).strip().splitlines()[0] if str(error).strip() else "parse error"


def _check_json_values(value, where, depth):
    """Refuse what YAML reads but JSON cannot hold (dates, binary, non-text keys), and
    nesting deeper than `depth` levels (ST2_MAX_JSON_DEPTH, as for JSON bodies)."""
    if isinstance(value, (dict, list)) and depth <= 0:
        raise InvalidInput(f"{where or 'body'}: nested deeper than ST2_MAX_JSON_DEPTH allows.")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput(f"{where or 'body'}: keys must be text (got {key!r}).")
            _check_json_values(item, f"{where}.{key}" if where else key, depth - 1)
    elif isinstance(value, list):
        for item in value:
            _check_json_values(item, where, depth - 1)
    elif not isinstance(value, (str, int, float, bool, type(None))):
        kind = type(value).__name__
        raise InvalidInput(f"{where or 'body'}: a {kind} is not a JSON value; quote it.")


# --- running --------------------------------------------------------------------------------


def run(caller, ref_or_id, body):
    """POST /templates/{ref}/run: a new `requested` execution of the template's action."""
    check_body(body, RUN_SCHEMA)
    template = find(caller, ref_or_id)
    return _launch(caller, template, body.get("parameters") or {})


def re_run(caller, execution, body):
    """POST /executions/{id}/re_run of an execution a template started: through the
    template as it is now (see the module's docstring)."""
    check_body(body, executions.RERUN_SCHEMA)
    ref = template_of(execution)["ref"]
    try:
        template = find(caller, ref)
    except NotFound:
        raise NotFound(
            f'Execution "{execution.id}" ran launch template "{ref}", which is gone or not '
            "yours to run: it cannot be re-run."
        ) from None
    exposed = {
        name
        for name, entry in current(template).definition["parameters"].items()
        if entry["mode"] == EXPOSED
    }
    original = {
        name: value
        for name, value in executions.stored_parameters(execution).items()
        if name in exposed
    }
    # A secret left blank (or sent back masked) keeps the original run's value, which never
    # travels back through the client (as executions.re_run).
    merged, _ = action_schema(template.action_ref)
    overrides = {
        name: value
        for name, value in (body.get("parameters") or {}).items()
        if not ((merged.get(name) or {}).get("secret") and value in ("", MASK))
    }
    context = {"re-run": {"ref": execution.id}}
    return _launch(caller, template, {**original, **overrides}, context)


def template_of(execution):
    """{"ref", "version"} of the template an execution ran, or None."""
    found = (execution.context or {}).get("template")
    return found if isinstance(found, dict) and isinstance(found.get("ref"), str) else None


def _launch(caller, template, given, context=None):
    version = current(template)
    merged, _ = action_schema(template.action_ref)
    values = checked_values(template.ref, version.definition, merged, given)
    context = {**(context or {}), "template": {"ref": template.ref, "version": version.version}}
    exposed_given = frozenset(name for name in given if name in values)
    return executions.request_execution(
        template.action_ref,
        values,
        user=caller.username,
        staff=caller.is_admin,
        data=exposed_given,
        context=context,
    )


def checked_values(ref, definition, merged, given):
    """The values to launch the action with: the fixed ones, then the exposed ones given (or
    their template default), checked against the narrowed schema. InvalidInput naming the
    first parameter the template does not let a caller set, or a value outside it."""
    entries = definition["parameters"]
    for name in given:
        entry = entries.get(name)
        if entry is None:
            exposed = sorted(n for n, e in entries.items() if e["mode"] == EXPOSED)
            raise InvalidInput(
                f'{name}: not a parameter of launch template "{ref}" (it takes: '
                f"{', '.join(exposed) or 'none'})."
            )
        if entry["mode"] == FIXED:
            raise InvalidInput(f'{name}: fixed by launch template "{ref}"; it cannot be set.')
    narrowed = {
        name: narrowed_spec(merged.get(name, {}), entry)
        for name, entry in entries.items()
        if entry["mode"] == EXPOSED
    }
    values = {name: params.cast_value(name, narrowed[name], value) for name, value in given.items()}
    for name, entry in entries.items():
        if name in narrowed and name not in values and entry.get("default") is not None:
            values[name] = entry["default"]
    # The action's defaults that are Jinja render at launch, and are checked then.
    checked = {
        name: value
        for name, value in params.with_defaults(narrowed, values).items()
        if name in values or not params.holds_template(value)
    }
    params.check_values(narrowed, checked)
    fixed = {name: entry["value"] for name, entry in entries.items() if entry["mode"] == FIXED}
    return {**values, **fixed}
