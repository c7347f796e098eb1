"""The catalog: packs, actions and runner types (notes §3). The checks an action must pass
before it is saved; who may see and change them is st2bridge.access's."""

import json
import re

from django.db.models import Count, ExpressionWrapper, F, Q, TextField
from django.db.models.functions import Cast

from . import access, params, runners
from .bodies import check_body
from .errors import InvalidInput
from .formats import without_nulls
from .models import Action, Pack, RunnerType
from .records import save_or_409

DEFAULT_PACK = "default"
OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
MAX_IDS = 100
MAX_SEARCH_CHARACTERS = 200  # ?q= of /actions (an extension): at most this long,
MAX_SEARCH_WORDS = 10  # and at most this many words

_NOTIFY_ENTRY = {
    "type": "object",
    "properties": {
        "message": {"type": "string"},
        "data": {"type": "object"},
        "routes": {"type": "array", "items": {"type": ["string", "null"]}},
        "channels": {"type": "array", "items": {"type": ["string", "null"]}},
    },
    "additionalProperties": False,
}
# StackStorm's ActionAPI: one schema for POST and PUT. id, ref and uid are accepted (clients
# send back what GET returned) and ignored.
ACTION_SCHEMA = {
    "type": "object",
    "required": ["name", "runner_type"],
    "properties": {
        "id": {"type": "string"},
        "ref": {"type": "string"},
        "uid": {"type": "string"},
        "name": {"type": "string", "minLength": 1, "maxLength": 255},
        "pack": {"type": "string"},
        "description": {"type": "string"},
        "enabled": {"type": "boolean"},
        "runner_type": {"type": "string", "minLength": 1, "maxLength": 100},
        "entry_point": {"type": "string", "maxLength": 1000},
        "parameters": {"type": "object"},
        "output_schema": {"type": "object"},
        "tags": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}, "value": {"type": "string"}},
                "additionalProperties": False,
            },
        },
        "notify": {
            "type": "object",
            "properties": {
                "on-complete": _NOTIFY_ENTRY,
                "on-success": _NOTIFY_ENTRY,
                "on-failure": _NOTIFY_ENTRY,
            },
            "additionalProperties": False,
        },
        "metadata_file": {"type": "string"},
    },
    "additionalProperties": False,
}
CLONE_SCHEMA = {
    "type": "object",
    "required": ["dest_pack", "dest_action"],
    "properties": {
        "dest_pack": {"type": "string", "minLength": 1},
        "dest_action": {"type": "string", "minLength": 1, "maxLength": 255},
        "overwrite": {"type": "boolean"},
    },
    "additionalProperties": False,
}
DELETE_SCHEMA = {
    "type": "object",
    "properties": {"remove_files": {"type": "boolean"}},
    "additionalProperties": False,
}
RUNNER_TYPE_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "uid": {"type": "string"},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "enabled": {"type": "boolean"},
        "runner_package": {"type": "string"},
        "runner_module": {"type": "string"},
        "query_module": {"type": "string"},
        "runner_parameters": {"type": "object"},
        "output_key": {"type": "string"},
        "output_schema": {"type": "object"},
    },
    "additionalProperties": False,
}


# --- queries -------------------------------------------------------------------------------


def with_ids(queryset, raw):
    """?id=a,b,c (up to 100 ids); a malformed id is a 400, as with StackStorm's ObjectIds."""
    if not raw:
        return queryset
    ids = [part.strip() for part in raw.split(",") if part.strip()][:MAX_IDS]
    for value in ids:
        if not OBJECT_ID.match(value):
            raise InvalidInput(
                f"'{value}' is not a valid ObjectId, it must be a 12-byte input or a "
                "24-character hex string"
            )
    return queryset.filter(pk__in=ids)


def with_tag(queryset, tag_name):
    """Actions carrying a tag of that name (JSON containment is not portable to SQLite)."""
    if not tag_name:
        return queryset
    ids = [
        action_id
        for action_id, tags in queryset.values_list("id", "tags")
        if any(isinstance(tag, dict) and tag.get("name") == tag_name for tag in tags or [])
    ]
    return queryset.filter(pk__in=ids)


def with_search(actions, raw):
    """?q= (an extension of this API): actions holding every word of `raw`, in any case, in
    their ref (pack.name), description or tags (matched in their JSON text). Words are
    matched literally: Django escapes LIKE's wildcards (% and _). Bounded: at most
    MAX_SEARCH_WORDS words and MAX_SEARCH_CHARACTERS characters, one query whatever the
    number of actions (a scan of the action table: no index serves a substring)."""
    words = (raw or "").split()
    if not words:
        return actions
    if len(raw) > MAX_SEARCH_CHARACTERS:
        raise InvalidInput(f'Parameter "q" is longer than {MAX_SEARCH_CHARACTERS} characters.')
    if len(words) > MAX_SEARCH_WORDS:
        raise InvalidInput(f'Parameter "q" has more than {MAX_SEARCH_WORDS} words.')
    actions = actions.annotate(tags_text=Cast("tags", TextField()))
    for word in words:
        actions = actions.filter(
            Q(ref__icontains=word) | Q(description__icontains=word) | Q(tags_text__icontains=word)
        )
    return actions


def action_counts(caller, pack_refs=None):
    """{pack ref: how many actions of it the caller sees}, in one grouped query; for the packs
    named in `pack_refs` (0 for those without any), else for every pack with an action."""
    actions = access.visible_actions(caller).order_by()
    counts = {}
    if pack_refs is not None:
        actions = actions.filter(pack__in=pack_refs)
        counts = dict.fromkeys(pack_refs, 0)
    counts.update(actions.values_list("pack").annotate(count=Count("id")))
    return counts


def merged_parameters(action):
    runner = RunnerType.objects.filter(name=action.runner_type).first()
    return params.merge_parameters(runner.runner_parameters if runner else {}, action.parameters)


def merged_parameters_for(actions):
    """{action id: merged parameters}, loading every runner type needed in one query."""
    names = {action.runner_type for action in actions}
    runners = dict(
        RunnerType.objects.filter(name__in=names).values_list("name", "runner_parameters")
    )
    return {
        action.id: params.merge_parameters(runners.get(action.runner_type), action.parameters)
        for action in actions
    }


# --- actions as stored rows (lists of thousands, issue 16) ----------------------------------

# The columns action_to_api() reads; the JSON ones come as their stored text.
ACTION_ROW = (
    "id", "ref", "pack", "name", "description", "enabled", "entry_point", "runner_type",
    "parameters", "output_schema", "tags", "notify", "metadata_file",
)  # fmt: skip
JSON_COLUMNS = ("parameters", "output_schema", "tags", "notify")


def _as_text(name):
    """A JSON column as the text the database gives (what JSONField decodes), not decoded.
    Not a CAST, which PostgreSQL would compute for every row it sorts, not just those sent."""
    return ExpressionWrapper(F(name), output_field=TextField())


def action_rows(actions):
    """The actions of a queryset as tuples of ACTION_ROW, their JSON columns as text, not
    decoded: a caller that keeps what it built of a row can tell an unchanged row without
    decoding it (st2bridge.api.rendered)."""
    texts = {f"{name}_text": _as_text(name) for name in JSON_COLUMNS}
    columns = [f"{name}_text" if name in JSON_COLUMNS else name for name in ACTION_ROW]
    return actions.annotate(**texts).values_list(*columns)


def action_of_row(row):
    """The (unsaved) Action of an action_rows() row, as the ORM would have read it."""
    values = dict(zip(ACTION_ROW, row, strict=True))
    for name in JSON_COLUMNS:
        values[name] = json.loads(values[name])
    return Action(**values)


def runner_parameter_texts(names):
    """{runner type name: its runner_parameters as stored text} of these runner types."""
    found = RunnerType.objects.filter(name__in=names)
    texts = found.annotate(text=_as_text("runner_parameters"))
    return dict(texts.values_list("name", "text"))


def overview_of_row(row, runner_parameters_text):
    """The overview object of an action_rows() row: its parameters merged with those of its
    runner type (stored text; None when the runner type is missing)."""
    action = action_of_row(row)
    runner = None if runner_parameters_text is None else json.loads(runner_parameters_text)
    return action_to_api(action, params.merge_parameters(runner, action.parameters))


# --- actions -------------------------------------------------------------------------------


def create_action(caller, body):
    access.require_admin(caller, "action_create")
    fields = _checked_action_fields(body, pack=body.get("pack") or DEFAULT_PACK)
    return _save(Action(**fields))


def update_action(caller, action, body):
    """A full replacement, as StackStorm's PUT: omitted fields take their defaults, except
    `pack`, which stays the action's own when the body leaves it out."""
    access.require_admin(caller, "action_modify")
    access.refuse_system_pack(action.pack)
    fields = _checked_action_fields(body, pack=body.get("pack") or action.pack)
    for name, value in fields.items():
        setattr(action, name, value)
    return _save(action)


def delete_action(caller, action, body):
    access.require_admin(caller, "action_delete")
    check_body(body, DELETE_SCHEMA)
    if body.get("remove_files"):
        raise InvalidInput(
            "remove_files: files are not deleted through the API; remove them from the pack "
            "and register it again."
        )
    access.refuse_system_pack(action.pack)
    action.delete()


def clone_action(caller, source, body):
    """POST /actions/{ref}/clone: a copy of `source` as dest_pack.dest_action (replacing an
    action of that ref with `overwrite`). StackStorm also copies the action's files into the
    destination pack; the API writes no files here, so an action with an entry point is
    cloned within its own pack only."""
    access.require_admin(caller, "action_create")
    check_body(body, CLONE_SCHEMA)
    pack, name = body["dest_pack"], body["dest_action"]
    if not Pack.objects.filter(ref=pack).exists():
        raise InvalidInput(f"Destination pack '{pack}' doesn't exist")
    existing = Action.objects.filter(ref=f"{pack}.{name}").first()
    if existing is not None and not body.get("overwrite"):
        raise InvalidInput("The requested destination action already exists")
    if source.entry_point and pack != source.pack:
        raise InvalidInput(
            f'dest_pack: action "{source.ref}" runs its entry point "{source.entry_point}", '
            "and files are not copied through the API: clone it within its own pack, or add "
            "the files to the destination pack and register it."
        )
    fields = {
        "name": name,
        "pack": pack,
        **{key: getattr(source, key) for key in _CLONED},
    }
    clone = existing or Action()
    for key, value in _checked_action_fields(fields, pack=pack).items():
        setattr(clone, key, value)
    return _save(clone)


_CLONED = ("description", "enabled", "runner_type", "entry_point", "parameters",
           "output_schema", "tags", "notify")  # fmt: skip


def _checked_action_fields(body, pack):
    if "data_files" in body:
        raise InvalidInput(
            "data_files: files are not written through the API; add them to the pack and "
            "register it."
        )
    check_body(body, ACTION_SCHEMA)
    name = body["name"]
    if "/" in name:
        raise InvalidInput('name: must not contain "/".')
    access.refuse_system_pack(pack)
    runner = RunnerType.objects.filter(name=body["runner_type"]).first()
    if runner is None:
        raise InvalidInput(f"RunnerType {body['runner_type']} is not found.")
    # StackStorm wants the pack's directory on disk; a registered pack is enough here.
    if not Pack.objects.filter(ref=pack).exists():
        raise InvalidInput(f'Content pack "{pack}" is not found.')
    ref = f"{pack}.{name}"
    parameters = body.get("parameters") or {}
    params.check_action_parameters(ref, runner.runner_parameters, parameters)
    return {
        "ref": ref,
        "pack": pack,
        "name": name,
        "description": body.get("description", ""),
        "enabled": body.get("enabled", True),
        "runner_type": runner.name,
        "entry_point": body.get("entry_point", ""),
        "parameters": parameters,
        "output_schema": body.get("output_schema") or {},
        "tags": body.get("tags") or [],
        "notify": body.get("notify") or {},
        "metadata_file": body.get("metadata_file", ""),
    }


def _save(action):
    """Save, answering 409 with the id of the action that already has this ref."""
    message = (
        f'Tried to save duplicate unique keys (ref): an action with ref "{action.ref}" '
        "already exists."
    )
    return save_or_409(action, message)


# --- runner types --------------------------------------------------------------------------


def set_runner_enabled(caller, runner, body):
    """PUT /runnertypes: only `enabled` is applied; other fields (even `name`) are ignored."""
    access.require_admin(caller, "runner_modify")
    check_body(body, RUNNER_TYPE_SCHEMA)
    if "enabled" in body and body["enabled"] != runner.enabled:
        runner.enabled = body["enabled"]
        runner.save(update_fields=["enabled"])
    return runner


# --- API shapes (st2bridge.shapes; actions and runner types are also executions' snapshots) --

PACK_LIST_DEFAULTS = {"keywords": [], "contributors": [], "dependencies": [], "python_versions": []}


def pack_to_api(pack):
    """pack.yaml as given (extra keys included), with the fields StackStorm computes."""
    computed = {"id": pack.id, "ref": pack.ref, "uid": f"pack:{pack.ref}"}
    data = {**computed, **PACK_LIST_DEFAULTS, "system": {}, **pack.metadata}
    data.update(computed, name=pack.name, files=pack.files, path=pack.path or None)
    return without_nulls(data)


def action_to_api(action, parameters=None):
    """StackStorm's action object; `parameters` replaces the action's own (overview)."""
    return without_nulls(
        {
            "id": action.id,
            "uid": f"action:{action.pack}:{action.name}",
            "ref": action.ref,
            "pack": action.pack,
            "name": action.name,
            "description": action.description,
            "enabled": action.enabled,
            "entry_point": action.entry_point,
            "runner_type": action.runner_type,
            "parameters": action.parameters if parameters is None else parameters,
            "output_schema": action.output_schema,
            "tags": action.tags,
            "notify": action.notify or {},
            "metadata_file": action.metadata_file or None,
            # An extension (GET /extensions: runner_support), only on actions whose runner
            # this server cannot run: they are listed, and refused at launch.
            "unsupported": runners.unsupported(action.runner_type),
        }
    )


def runner_type_to_api(runner):
    return {
        "id": runner.id,
        "uid": f"runner_type:{runner.name}",
        "name": runner.name,
        "description": runner.description,
        "enabled": runner.enabled,
        "runner_package": runner.runner_package,
        "runner_module": runner.runner_module,
        "runner_parameters": runner.runner_parameters,
        "output_key": runner.output_key,
        "output_schema": runner.output_schema,
    }
