"""The API's shapes, declared once: for each object the embedded API answers with, its fields
with a JSON schema each, which of them an answer may leave out, and which
include_attributes always keeps.

- The answers themselves are built by the `*_to_api` functions of the services, one each,
  beside the model they read (catalog, executions, rulebook, triggertypes, triggers,
  trigger_instances, datastore, apikeys, auth), or by the services that read them elsewhere
  (pack_contents, pack_index: a pack's files, the pack indexes); the few fixed answers
  (Version, Extensions, TokenValidity, Parameters, ReEmitted) by the view that gives them.
- The API views take their include_attributes / exclude_attributes allow-lists from here
  (`Shape.names`), and GET /api/v1/openapi.json its response schemas (`Shape.schema`).
- tests/test_api_shapes.py reads real objects back through the API and holds every answer to
  its shape: no undeclared field, every required one, values valid against the schemas, and
  between them every declared field. So the three cannot drift apart.

A new kind of answer: declare its Shape here and add it to ALL; build it with a `to_api` in
its service; pass the Shape to `list_response` / `attribute_selector` (st2bridge/api/base.py)
if it is listed; name it in api/openapi.py (`listing("Name")`, `detail("Name")`); and give
tests/test_api_shapes.py real examples of it (`@examples_of`). New fields of an existing
answer: declare them here too, or that test fails.

Pure: imports nothing that touches the database (an import-linter contract holds it).
"""

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True, eq=False)
class Shape:
    name: str  # its OpenAPI component (#/components/schemas/<name>)
    description: str
    fields: dict  # field -> JSON schema (or a Shape: the nested object has that shape)
    optional: tuple = ()  # fields an answer may leave out (StackStorm drops empty values)
    mandatory: tuple = ("id",)  # kept whatever include_attributes names
    # StackStorm's fields that this server never fills: attribute selection accepts their
    # names, as StackStorm's does, though no answer carries them.
    unfilled: tuple = ()

    def __post_init__(self):
        for kind in ("optional", "mandatory"):
            unknown = set(getattr(self, kind)) - set(self.fields)
            if unknown:
                raise ValueError(f"{self.name}: {kind} names undeclared fields {sorted(unknown)}")
        if set(self.unfilled) & set(self.fields):
            raise ValueError(f"{self.name}: a field is both declared and unfilled")

    @property
    def names(self):
        """What include_attributes / exclude_attributes may name."""
        return frozenset(self.fields) | frozenset(self.unfilled)

    @property
    def required(self):
        """The fields every answer has, in declaration order."""
        return [name for name in self.fields if name not in self.optional]

    def schema(self, ref=None):
        """This shape as a JSON schema (2020-12, as in OpenAPI 3.1). A nested shape is
        inline, or `ref(its name)` when `ref` is given. Fields beyond the declared ones are
        allowed: StackStorm adds fields over time, and clients should ignore what they do not
        know (a pack's answer also carries whatever else its pack.yaml says)."""
        properties = {}
        for name, schema in self.fields.items():
            if isinstance(schema, Shape):
                schema = ref(schema.name) if ref else schema.schema()
            properties[name] = schema
        return {
            "type": "object",
            "description": self.description,
            "properties": properties,
            "required": self.required,
        }


def record(description=None, **properties):
    """A nested object with these properties, every one present."""
    schema = {"type": "object", "properties": properties, "required": list(properties)}
    if description:
        schema["description"] = description
    return schema


def described(schema, description):
    return {**schema, "description": description}


def kept(shape, description, legacy):
    """An object an execution keeps as the API showed it then: `shape`, inline; one recorded
    before this was kept carries only its `legacy` fields."""
    earlier = record(**{name: shape.fields[name] for name in legacy})
    return {"description": description, "anyOf": [shape.schema(), earlier]}


def as_given(kind):
    """A pack.yaml value, returned as given (keywords, contributors, dependencies and
    python_versions default to [], system to {})."""
    return {"description": f"as pack.yaml gives it ({kind} in StackStorm's pack schema)"}


STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
OBJECT = {"type": "object"}
ARRAY = {"type": "array"}
STRINGS = {"type": "array", "items": STRING}
ID = {"type": "string", "pattern": "^[0-9a-f]{24}$"}  # like StackStorm's ObjectIds
TIMESTAMP = {"type": "string", "format": "date-time"}  # UTC, microseconds, "Z"
NULLABLE_TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}
MASKED = described(STRING, 'the mask "********" unless an admin asks for show_secrets')
TAGS = described(ARRAY, "[{name, value}, ...]")


# --- authentication ------------------------------------------------------------------------

ERROR = Shape(
    "Error",
    "Every refusal and failure (StackStorm's); a 409 also names the existing object.",
    {"faultstring": STRING, "conflict-id": STRING},
    optional=("conflict-id",),
    mandatory=(),
)

TOKEN = Shape(
    "Token",
    "A new token: the raw value is shown this once.",
    {
        "id": ID,
        "user": STRING,
        "token": STRING,
        "expiry": TIMESTAMP,
        "metadata": OBJECT,
        "service": BOOLEAN,
    },
)

TOKEN_VALIDITY = Shape(
    "TokenValidity", "Whether a token is valid.", {"valid": BOOLEAN}, mandatory=()
)

USER = Shape(
    "User",
    "Who is calling, in the shape `st2 whoami` reads.",
    {
        "username": STRING,
        "authentication": {
            "type": "object",
            "properties": {
                "method": {"enum": ["authentication token", "API key"]},
                "location": {"enum": ["header", "query"]},
                "token_expire": described(STRING, "when a token is the credential"),
            },
            "required": ["method", "location"],
        },
        "rbac": record(enabled=BOOLEAN, roles=STRINGS, is_admin=BOOLEAN),
    },
    mandatory=(),
)

VERSION = Shape(
    "Version", "The API's version.", {"version": STRING, "docs_url": STRING}, mandatory=()
)

EXTENSIONS = Shape(
    "Extensions",
    "What this server offers beyond StackStorm's API (a StackStorm server answers 404).",
    {
        "server": STRING,
        "action_search": described(BOOLEAN, "GET /actions?q=words (ref, description, tags)"),
        "pack_action_counts": described(BOOLEAN, "GET /packs/views/action_counts?pack=a,b"),
        "apikey_expiry": described(BOOLEAN, "POST /apikeys takes expires_at"),
        "apikey_metadata_filter": described(BOOLEAN, "GET /apikeys?metadata=name:value"),
        "token_revocation": described(BOOLEAN, "POST /auth/v1/tokens/revoke"),
        "teams_admin_path": described(STRING, "where administrators manage teams, on this host"),
        "teams": described(BOOLEAN, "/teams, /useraccess and /grantables"),
        "pack_problems": described(BOOLEAN, "GET /packs/views/problems (admins)"),
        "runner_support": described(BOOLEAN, "actions say `unsupported` when they cannot run"),
        "rule_warnings": described(BOOLEAN, "rules say `warnings` (missing trigger type, action)"),
        "execution_action_contains": described(
            BOOLEAN, "GET /executions?action_contains=: a part of the action ref"
        ),
        "audit": described(BOOLEAN, "GET /audit: the audit log (administrators)"),
        "templates": described(BOOLEAN, "/templates: launch templates"),
        "execution_template_filter": described(BOOLEAN, "GET /executions?template=ref"),
    },
    mandatory=(),
)

API_KEY = Shape(
    "ApiKey",
    "An API key; only its hash is kept.",
    {
        "id": ID,
        "uid": MASKED,
        "user": STRING,
        "key_hash": MASKED,
        "metadata": OBJECT,
        "created_at": TIMESTAMP,
        "enabled": BOOLEAN,
        "expires_at": NULLABLE_TIMESTAMP,
        "last_used_at": NULLABLE_TIMESTAMP,
    },
)

NEW_API_KEY = Shape(
    "NewApiKey",
    "A new API key: the raw key is shown this once.",
    {
        **{name: schema for name, schema in API_KEY.fields.items() if name != "key_hash"},
        "key": described(
            {"type": ["string", "null"]}, "null when an administrator imported a key_hash"
        ),
    },
)


# --- the catalog ---------------------------------------------------------------------------

PACK = Shape(
    "Pack",
    "A pack: its pack.yaml as given (other keys included), with the fields StackStorm computes. "
    "The loader checks only name and ref: other values have the type pack.yaml gives them, "
    "the type named is the one StackStorm's pack schema asks for.",
    {
        "id": ID,
        "ref": STRING,
        "uid": STRING,
        "name": STRING,
        "description": as_given("a string"),
        "keywords": as_given("an array of strings"),
        "version": as_given("a string"),
        "author": as_given("a string"),
        "email": as_given("a string"),
        "contributors": as_given("an array of strings"),
        "dependencies": as_given("an array of strings"),
        "system": as_given("an object"),
        "stackstorm_version": as_given("a string"),
        "python_versions": as_given("an array of strings"),
        "files": STRINGS,
        "path": described(STRING, "its directory on the server"),
    },
    # From pack.yaml: left out when absent (or null) there; path when not on disk.
    optional=(
        "description", "keywords", "version", "author", "email", "contributors",
        "dependencies", "system", "stackstorm_version", "python_versions", "path",
    ),
)  # fmt: skip

RUNNER_TYPE = Shape(
    "RunnerType",
    "A runner type.",
    {
        "id": ID,
        "uid": STRING,
        "name": STRING,
        "description": STRING,
        "enabled": BOOLEAN,
        "runner_package": STRING,
        "runner_module": STRING,
        "runner_parameters": described(OBJECT, "parameter schemas by name"),
        "output_key": STRING,
        "output_schema": OBJECT,
    },
)

ACTION = Shape(
    "Action",
    "An action. In the overview, `parameters` are the runner's and the action's merged.",
    {
        "id": ID,
        "uid": STRING,
        "ref": STRING,
        "pack": STRING,
        "name": STRING,
        "description": STRING,
        "enabled": BOOLEAN,
        "entry_point": STRING,
        "runner_type": STRING,
        "parameters": described(OBJECT, "parameter schemas by name"),
        "output_schema": OBJECT,
        "tags": TAGS,
        "notify": OBJECT,
        "metadata_file": described(STRING, "for an action registered from a pack on disk"),
        "unsupported": described(
            STRING, "an extension (runner_support): why this server cannot run it, if so"
        ),
    },
    optional=("metadata_file", "unsupported"),
    mandatory=("id", "ref"),
)

PARAMETERS = Shape(
    "Parameters",
    "An action's parameters, the runner's and the action's merged.",
    {"parameters": described(OBJECT, "parameter schemas by name")},
    mandatory=(),
)


PACK_FILE = Shape(
    "PackFile",
    "A text file of a pack (GET /packs/views/files/{ref}): binary and large files are left out.",
    {"file_path": described(STRING, "relative to the pack's directory"), "content": STRING},
    mandatory=(),
)

INDEX_STATUS = record(
    "how reading one index went",
    url=STRING,
    packs=described(INTEGER, "how many packs it lists"),
    message={"type": ["string", "null"]},
    error={"type": ["string", "null"], "description": "malformed, unresponsive, empty, or null"},
)

PACK_INDEX = Shape(
    "PackIndex",
    "The packs the pack indexes list (ST2_PACK_INDEX_URLS; none by default, and then empty), "
    "and how reading each index went.",
    {
        "status": {"type": "array", "items": INDEX_STATUS},
        "index": described(OBJECT, "pack name -> its entry, as an index gives it (PackIndexEntry)"),
    },
    mandatory=(),
)

PACK_INDEX_ENTRY = Shape(
    "PackIndexEntry",
    "A pack as an index lists it: its pack.yaml's fields and what the index adds (other "
    "fields an index gives are passed on).",
    {
        "name": STRING,
        "ref": STRING,
        "description": STRING,
        "keywords": STRINGS,
        "version": STRING,
        "author": STRING,
        "email": STRING,
        "contributors": STRINGS,
        "python_versions": STRINGS,
        "stackstorm_version": STRING,
        "repo_url": STRING,
        "content": described(OBJECT, "what the pack holds: {actions: {count, resources}, ...}"),
    },
    optional=(
        "ref", "description", "keywords", "version", "author", "email", "contributors",
        "python_versions", "stackstorm_version", "repo_url", "content",
    ),
    mandatory=(),
)  # fmt: skip

PACK_INDEX_HEALTH = Shape(
    "PackIndexHealth",
    "Whether the pack indexes are reachable and valid, and how many packs they list.",
    {
        "indexes": record(
            count=INTEGER,
            valid=INTEGER,
            invalid=INTEGER,
            errors=described(OBJECT, "error -> how many indexes had it"),
            status={"type": "array", "items": INDEX_STATUS},
        ),
        "packs": record(count=INTEGER),
    },
    mandatory=(),
)


# --- the datastore -------------------------------------------------------------------------

KEY_VALUE_PAIR = Shape(
    "KeyValuePair",
    "A datastore item.",
    {
        "id": ID,
        "uid": STRING,
        "name": STRING,
        "value": described(STRING, "a secret's ciphertext unless decrypt is asked for"),
        "secret": BOOLEAN,
        "encrypted": BOOLEAN,
        "scope": {"enum": ["st2kv.system", "st2kv.user"]},
        "user": described(STRING, "the owner of a user-scoped item"),
        "description": STRING,
        "expire_timestamp": TIMESTAMP,
    },
    optional=("user", "description", "expire_timestamp"),
)


# --- pack configs --------------------------------------------------------------------------

CONFIG = Shape(
    "Config",
    "A pack's config (st2bridge.configs).",
    {
        "id": ID,
        "pack": STRING,
        "values": described(OBJECT, 'secret items masked "********" unless show_secrets'),
    },
)

CONFIG_SCHEMA = Shape(
    "ConfigSchema",
    "A pack's config.schema.yaml.",
    {"id": ID, "pack": STRING, "attributes": OBJECT},
)


# --- rules and triggers --------------------------------------------------------------------

RULE = Shape(
    "Rule",
    "A rule: when its trigger fires and its criteria match, it runs its action.",
    {
        "id": ID,
        "uid": STRING,
        "ref": STRING,
        "name": STRING,
        "pack": STRING,
        "description": STRING,
        "enabled": BOOLEAN,
        "type": {
            "type": "object",
            "properties": {"ref": {"enum": ["standard", "backstop"]}, "parameters": OBJECT},
        },
        "trigger": record(type=STRING, parameters=OBJECT, ref=STRING),
        "criteria": OBJECT,
        "action": record(
            ref=STRING, parameters=described(OBJECT, "secret values masked unless show_secrets")
        ),
        "tags": TAGS,
        "context": OBJECT,
        "metadata_file": described(STRING, "empty unless registered from a pack on disk"),
        "warnings": described(
            STRINGS, "an extension (rule_warnings): its trigger type or action is missing"
        ),
    },
    optional=("warnings",),
    mandatory=("id", "ref"),
)

TRIGGER_TYPE = Shape(
    "TriggerType",
    "A trigger type.",
    {
        "id": ID,
        "ref": STRING,
        "uid": STRING,
        "name": STRING,
        "pack": STRING,
        "description": STRING,
        "payload_schema": OBJECT,
        "parameters_schema": OBJECT,
        "tags": TAGS,
        "metadata_file": described(STRING, "for a trigger type registered from a pack on disk"),
    },
    optional=("metadata_file",),
    mandatory=("id", "ref"),
)

TRIGGER = Shape(
    "Trigger",
    "A trigger type with concrete parameters (a webhook is one: its url is a parameter).",
    {
        "id": ID,
        "ref": STRING,
        "uid": STRING,
        "name": STRING,
        "pack": STRING,
        "type": described(STRING, "the trigger type's ref"),
        "parameters": OBJECT,
        "description": described(STRING, "when POST or PUT /triggers gave one"),
    },
    optional=("description",),
)

TRIGGER_INSTANCE = Shape(
    "TriggerInstance",
    "One firing of a trigger.",
    {
        "id": ID,
        "trigger": described(STRING, "the trigger's ref"),
        "payload": described(
            {}, "an object, unless /webhooks/st2 was given another value its type allows"
        ),
        "occurrence_time": TIMESTAMP,
        "status": {"enum": ["pending", "processing", "processed", "processing_failed"]},
        "posted_by": described(
            STRING,
            "ours: who caused it (a webhook's poster, the user of the execution behind an "
            "actiontrigger, who re-emitted it); shown to those who may read it, absent for timers",
        ),
    },
    optional=("posted_by",),
)

RE_EMITTED = Shape(
    "ReEmitted",
    "A trigger instance sent again.",
    {"message": STRING, "payload": described(TRIGGER_INSTANCE.fields["payload"], "as sent")},
    mandatory=(),
)

RULE_ENFORCEMENT = Shape(
    "RuleEnforcement",
    "A rule's answer to one trigger instance: the execution it requested, or why not.",
    {
        "id": ID,
        "rule": record(ref=STRING, id=ID, uid=STRING),
        "trigger_instance_id": ID,
        "execution_id": ID,
        "failure_reason": STRING,
        "enforced_at": TIMESTAMP,
        "status": {"enum": ["succeeded", "failed"]},
    },
    optional=("execution_id", "failure_reason"),
)


# --- executions ----------------------------------------------------------------------------

EXECUTION_STATUSES = [
    "requested", "scheduled", "running", "succeeded", "failed", "timeout", "abandoned",
    "canceling", "canceled",
]  # fmt: skip

EXECUTION = Shape(
    "Execution",
    "One run of an action. As in StackStorm, empty values are left out.",
    {
        "id": ID,
        "action": ACTION,  # as it was at launch
        "runner": RUNNER_TYPE,  # as it was at launch
        "liveaction": record(
            id=ID,
            action=STRING,
            action_is_workflow=BOOLEAN,
            parameters=OBJECT,
            callback=OBJECT,
            runner_info=described(OBJECT, "{worker} once a worker claimed it"),
        ),
        "status": {"enum": EXECUTION_STATUSES},
        "start_timestamp": TIMESTAMP,
        "end_timestamp": TIMESTAMP,
        "elapsed_seconds": NUMBER,
        "parameters": described(OBJECT, "secret values masked unless show_secrets"),
        "context": described(OBJECT, "user, pack, and how it was started"),
        "result": described({}, "what the runner returned: any JSON value"),
        "result_size": INTEGER,
        "log": {
            "type": "array",
            "items": record(status={"enum": EXECUTION_STATUSES}, timestamp=TIMESTAMP),
        },
        "web_url": STRING,
        "parent": ID,
        # What started it, as the API showed each when it started (StackStorm's): a rule,
        # its trigger, the trigger's type, and the trigger instance.
        "rule": kept(RULE, "the rule that started it", legacy=("ref",)),
        "trigger": TRIGGER,
        "trigger_type": TRIGGER_TYPE,
        "trigger_instance": kept(TRIGGER_INSTANCE, "the instance behind it", legacy=("id",)),
    },
    optional=(
        "end_timestamp", "elapsed_seconds", "parameters", "context", "result", "result_size",
        "log", "parent", "rule", "trigger", "trigger_type", "trigger_instance",
    ),
    unfilled=("children",),
)  # fmt: skip

EXECUTION_FILTERS = Shape(
    "ExecutionFilters",
    "The values each execution filter takes among the caller's executions (those ?types= "
    "names, or all): what st2web's History offers to filter by.",
    {
        name: STRINGS
        for name in ("action", "status", "rule", "runner", "trigger", "trigger_type", "user")
    },
    optional=("action", "status", "rule", "runner", "trigger", "trigger_type", "user"),
    mandatory=(),
)


# --- sensors and pack registration ---------------------------------------------------------

SENSOR_TYPE = Shape(
    "SensorType",
    "A sensor of a pack, registered from sensors/*.yaml (it does not run here yet).",
    {
        "id": ID,
        "uid": STRING,
        "ref": STRING,
        "name": STRING,
        "pack": STRING,
        "description": STRING,
        "artifact_uri": STRING,
        "entry_point": STRING,
        "enabled": BOOLEAN,
        "trigger_types": STRINGS,
        "poll_interval": NUMBER,
        "metadata_file": STRING,
    },
    optional=("description", "artifact_uri", "entry_point", "poll_interval", "metadata_file"),
    mandatory=("id", "ref"),
)

PACK_PROBLEM = Shape(
    "PackProblem",
    "An extension (pack_problems): what registration could not take from a pack, or took "
    "with a warning.",
    {
        "pack": STRING,
        "directory": STRING,
        "file": STRING,
        "reason": STRING,
        "level": {"enum": ["error", "warning"]},
    },
    mandatory=(),
)


# --- the views st2web reads rules and enforcements through ---------------------------------


def with_description(schema):
    """A record's schema with a `description` text property too (record() cannot take that
    name: its own `description` is the record's)."""
    return {
        **schema,
        "properties": {**schema["properties"], "description": STRING},
        "required": [*schema["required"], "description"],
    }


RULE_VIEW = Shape(
    "RuleView",
    "A rule as st2web lists and shows it (GET /rules/views): its action and its trigger each "
    "with a description (the action's; the trigger's, else its type's; \"\" when none).",
    {
        **RULE.fields,
        "trigger": with_description(RULE.fields["trigger"]),
        "action": with_description(RULE.fields["action"]),
    },
    optional=RULE.optional,
    mandatory=("id", "ref", "pack", "name", "trigger"),
)

NOTHING = {"type": "object", "maxProperties": 0}

RULE_ENFORCEMENT_VIEW = Shape(
    "RuleEnforcementView",
    "A rule enforcement as st2web shows it (GET /ruleenforcements/views): with its trigger "
    "instance and a few fields of its execution ({} when none, or not the caller's to see).",
    {
        **RULE_ENFORCEMENT.fields,
        "trigger_instance": {"anyOf": [TRIGGER_INSTANCE.schema(), NOTHING]},
        "execution": {
            "anyOf": [
                record(
                    id=ID,
                    action=record(ref=STRING, parameters=OBJECT),
                    runner=record(name=STRING, runner_parameters=OBJECT),
                    parameters=described(OBJECT, "secret values masked"),
                    status={"enum": EXECUTION_STATUSES},
                ),
                NOTHING,
            ]
        },
    },
    optional=RULE_ENFORCEMENT.optional,
)


# --- rule types ----------------------------------------------------------------------------

RULE_TYPE = Shape(
    "RuleType",
    "A rule type: standard, or backstop (fires when no standard rule of the trigger matched).",
    {"id": ID, "name": STRING, "description": STRING, "enabled": BOOLEAN, "parameters": OBJECT},
)


# --- action aliases ------------------------------------------------------------------------

ACTION_ALIAS = Shape(
    "ActionAlias",
    "A chat command for an action: its formats say how a command's words become parameters.",
    {
        "id": ID,
        "uid": STRING,
        "ref": STRING,
        "name": STRING,
        "pack": STRING,
        "description": STRING,
        "enabled": BOOLEAN,
        "action_ref": STRING,
        "formats": described(ARRAY, 'strings, or {"display", "representation": [...]}'),
        "ack": described(OBJECT, "how a chat bot acknowledges the command"),
        "result": described(OBJECT, "how a chat bot shows the result"),
        "extra": OBJECT,
        "immutable_parameters": described(OBJECT, "parameters every execution gets"),
        "metadata_file": described(STRING, "for an alias registered from a pack on disk"),
    },
    optional=("description", "metadata_file"),
    mandatory=("id", "ref"),
)

ALIAS_MATCH = Shape(
    "ActionAliasMatch",
    "The alias format a command matches.",
    {
        "actionalias": ACTION_ALIAS,
        "display": described({"type": ["string", "null"]}, "the format's help text"),
        "representation": described(STRING, "the pattern the command matched"),
    },
    mandatory=(),
)

ALIAS_HELP = Shape(
    "ActionAliasHelp",
    "Help strings of the enabled aliases.",
    {
        "available": described(INTEGER, "how many matched the filter"),
        "helpstrings": {
            "type": "array",
            # Not record(): its own `description` argument would take the field's place.
            "items": {
                "type": "object",
                "properties": {"pack": STRING, "display": STRING, "description": STRING},
                "required": ["pack", "display", "description"],
            },
        },
    },
    mandatory=(),
)

ALIAS_EXECUTION = Shape(
    "AliasExecution",
    "An action launched through its alias.",
    {
        "execution": EXECUTION,
        "actionalias": ACTION_ALIAS,
        "message": described(STRING, "the alias's ack format, rendered"),
        "extra": described({}, "the alias's ack extra, rendered"),
    },
    optional=("message", "extra"),
    mandatory=(),
)

ALIAS_EXECUTIONS = Shape(
    "AliasExecutions",
    "The executions a command started (POST /aliasexecution/match_and_execute).",
    {"results": {"type": "array", "items": ALIAS_EXECUTION.schema()}},
    mandatory=(),
)


# --- policies --------------------------------------------------------------------------------

POLICY_TYPE = Shape(
    "PolicyType",
    "One of StackStorm's core policy types.",
    {
        "id": ID,
        "uid": STRING,
        "ref": described(STRING, "resource_type.name"),
        "name": STRING,
        "resource_type": {"enum": ["action"]},
        "description": STRING,
        "enabled": BOOLEAN,
        "module": described(STRING, "StackStorm's implementation"),
        "parameters": described(OBJECT, "parameter schemas by name"),
    },
)

POLICY = Shape(
    "Policy",
    "A policy on an action (recorded and shown; not enforced yet).",
    {
        "id": ID,
        "uid": STRING,
        "ref": STRING,
        "name": STRING,
        "pack": STRING,
        "description": STRING,
        "enabled": BOOLEAN,
        "resource_ref": described(STRING, "the action's ref"),
        "policy_type": described(STRING, "the policy type's ref"),
        "parameters": described(OBJECT, "with the type's defaults filled in"),
        "metadata_file": described(STRING, "for a policy registered from a pack on disk"),
    },
    optional=("description", "metadata_file"),
    mandatory=("id", "ref"),
)


# --- packs managed through the API -----------------------------------------------------------

ASYNC_REQUEST = Shape(
    "AsyncRequest",
    "The execution that records a pack installation or removal.",
    {"execution_id": ID},
    mandatory=(),
)

PACKS_REGISTERED = Shape(
    "PacksRegistered",
    "What the registered packs hold, by kind (only the kinds asked for, with `types`).",
    {
        name: INTEGER
        for name in (
            "runners", "actions", "triggers", "sensors", "rules", "rule_types", "aliases",
            "policy_types", "policies", "configs",
        )
    },
    optional=(
        "runners", "actions", "triggers", "sensors", "rules", "rule_types", "aliases",
        "policy_types", "policies", "configs",
    ),
    mandatory=(),
)  # fmt: skip


# --- RBAC read views over teams (st2bridge/rbac_views.py) -------------------------------------

ROLE = Shape(
    "Role",
    "A role: one of StackStorm's system roles, or a team.",
    {
        "id": ID,
        "name": STRING,
        "description": STRING,
        "enabled": BOOLEAN,
        "system": BOOLEAN,
        "permission_grants": described(STRINGS, "the ids of permission_grant_objects"),
        "permission_grant_objects": {
            "type": "array",
            "items": record(id=ID, resource_uid=STRING, permission_types=STRINGS),
        },
    },
)

ROLE_ASSIGNMENT = Shape(
    "RoleAssignment",
    "A user's role: a team they are in, or admin / system_admin.",
    {
        "id": ID,
        "user": STRING,
        "role": STRING,
        "source": STRING,
        "description": STRING,
        "is_remote": BOOLEAN,
    },
)

_PERMISSION_TYPES = yaml.safe_load(
    Path(__file__).with_name("rbac_permission_types.yaml").read_text()
)

PERMISSION_TYPES = Shape(
    "PermissionTypes",
    "StackStorm's permission types by resource type: {permission type: description}.",
    {resource_type: OBJECT for resource_type in _PERMISSION_TYPES},
    mandatory=(),
)

RESOURCE_PERMISSION_TYPES = Shape(
    "ResourcePermissionTypes",
    "The permission types of one resource type, with their descriptions.",
    {
        permission: STRING
        for permissions in _PERMISSION_TYPES.values()
        for permission in permissions
    },
    optional=tuple(
        dict.fromkeys(
            permission for permissions in _PERMISSION_TYPES.values() for permission in permissions
        )
    ),
    mandatory=(),
)


# --- this server's processes (st2bridge/service_registry.py) ----------------------------------

SERVICE_GROUPS = Shape(
    "ServiceGroups", "The groups of this server's processes.", {"groups": STRINGS}, mandatory=()
)

SERVICE_MEMBERS = Shape(
    "ServiceMembers",
    "The live processes of one group.",
    {
        "members": {
            "type": "array",
            "items": record(
                group_id=STRING,
                member_id=STRING,
                capabilities=described(OBJECT, "hostname, pid, name, type, started_at, ..."),
            ),
        }
    },
    mandatory=(),
)

SSO = Shape(
    "SingleSignOn", "Whether single sign-on is enabled (it is not).", {"enabled": BOOLEAN},
    mandatory=(),
)  # fmt: skip


# --- teams (an extension: st2bridge/api/teams.py) ------------------------------------------

TEAM = Shape(
    "Team",
    "A team: its members and what it grants them.",
    {
        "id": STRING,
        "name": STRING,
        "members": described(STRINGS, "usernames"),
        "packs": STRINGS,
        "actions": STRINGS,
        "templates": described(STRINGS, "launch templates: running them, not their actions"),
        "unregistered": described(STRINGS, "granted refs that name nothing registered"),
    },
)

USER_ACCESS = Shape(
    "UserAccess",
    "What a user may see and run, and why.",
    {
        "username": STRING,
        "enabled": BOOLEAN,
        "is_admin": BOOLEAN,
        "teams": described(STRINGS, "team names"),
        "everything": described(BOOLEAN, "sees and runs every pack and action"),
        "packs": described(STRINGS, "granted whole (empty when everything)"),
        "actions": described(STRINGS, "granted one by one"),
        "templates": described(STRINGS, "launch templates granted"),
        "reason": {"enum": ["admin", "default_all", "default_none", "disabled", "teams"]},
        "why": STRING,
    },
    mandatory=("username",),
)

GRANTABLE = Shape(
    "Grantable",
    "A pack, an action or a launch template matching a search, to grant to a team (a "
    "template's description is its action's ref).",
    {"kind": {"enum": ["pack", "action", "template"]}, "ref": STRING, "description": STRING},
    mandatory=("kind", "ref"),
)


# --- the audit log (an extension: st2bridge/api/audit.py) ---------------------------------------

AUDIT_RECORD = Shape(
    "AuditRecord",
    "One event of the audit log: who did what to which object, when, from where.",
    {
        "id": described(STRING, "grows with time"),
        "timestamp": TIMESTAMP,
        "user": described(STRING, "who acted (for a failed sign-in: the name tried)"),
        "action": described(STRING, 'what was done, as "execution.launch"'),
        "address": described(STRING, "the client's address"),
        "credential": described(STRING, '"token:<id>" or "apikey:<id>" (never the secret)'),
        "object_type": STRING,
        "object_id": described(STRING, "the object's id or ref"),
        "changes": described(OBJECT, "{field: [before, after]}, secrets masked"),
    },
)


# --- launch templates (an extension: st2bridge/api/templates.py) ----------------------------

TEMPLATE_PARAMETERS = described(
    OBJECT,
    'per parameter: {"mode": "fixed", "value", "shown"} or {"mode": "exposed", "default", '
    '"enum", "minimum", "maximum", "pattern", "required"} (members: no hidden fixed ones)',
)
LAUNCH_TEMPLATE = Shape(
    "LaunchTemplate",
    "An action with some parameters fixed and others exposed, maybe narrowed; a team may be "
    "granted it without its action.",
    {
        "id": ID,
        "ref": STRING,
        "name": STRING,
        "description": STRING,
        "action": described(STRING, "the action's ref"),
        "version": described(INTEGER, "the current version; each edit adds one"),
        "parameters": TEMPLATE_PARAMETERS,
        "parameters_schema": described(
            OBJECT,
            "what a form of it shows, as an action's parameters: exposed ones narrowed, "
            "shown fixed ones immutable",
        ),
        "created_by": STRING,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
    },
    mandatory=("id", "ref"),
)
LAUNCH_TEMPLATE_VERSION = Shape(
    "LaunchTemplateVersion",
    "One version of a launch template, as it was written (administrators).",
    {
        "ref": STRING,
        "version": INTEGER,
        "name": STRING,
        "description": STRING,
        "action": STRING,
        "parameters": TEMPLATE_PARAMETERS,
        "created_by": STRING,
        "created_at": TIMESTAMP,
    },
    mandatory=("ref", "version"),
)


ALL = [
    ERROR, TOKEN, TOKEN_VALIDITY, USER, VERSION, EXTENSIONS, API_KEY, NEW_API_KEY, PACK,
    PACK_FILE, PACK_INDEX, PACK_INDEX_ENTRY, PACK_INDEX_HEALTH, RUNNER_TYPE, ACTION,
    PARAMETERS, EXECUTION, EXECUTION_FILTERS, KEY_VALUE_PAIR, RULE, TRIGGER_TYPE, TRIGGER,
    TRIGGER_INSTANCE, RE_EMITTED, RULE_ENFORCEMENT, RULE_VIEW, RULE_ENFORCEMENT_VIEW,
    SENSOR_TYPE, PACK_PROBLEM, TEAM, USER_ACCESS, GRANTABLE, CONFIG, CONFIG_SCHEMA,
    RULE_TYPE, ACTION_ALIAS, ALIAS_MATCH, ALIAS_HELP, ALIAS_EXECUTION, ALIAS_EXECUTIONS,
    POLICY_TYPE, POLICY, ASYNC_REQUEST, PACKS_REGISTERED, ROLE, ROLE_ASSIGNMENT,
    PERMISSION_TYPES, RESOURCE_PERMISSION_TYPES, SERVICE_GROUPS, SERVICE_MEMBERS, SSO,
    AUDIT_RECORD,
    LAUNCH_TEMPLATE, LAUNCH_TEMPLATE_VERSION,
]  # fmt: skip
