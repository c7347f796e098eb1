"""GET /api/v1/openapi.json: an OpenAPI 3.1 document of the embedded API, as served.

The request bodies are the JSON schemas the API validates with, the list filters are the
allow-lists the views use, and the response schemas are the shapes of st2bridge.shapes (which
tests/test_api_shapes.py holds the answers to), so the document follows the code. The shapes
are StackStorm's; they allow other fields (StackStorm adds fields over time). scripts/fuzz-api
runs schemathesis against a live server with this document.
"""

from django.http import JsonResponse
from django.urls import re_path

from st2bridge import (
    alias_execution,
    aliases,
    apikeys,
    audit,
    catalog,
    datastore,
    executions,
    inquiries,
    launch_templates,
    lifecycle,
    pack_management,
    policies,
    rulebook,
    shapes,
    team_admin,
    trigger_changes,
)
from st2bridge import triggertypes as trigger_types

from . import actions, packs, rules, runnertypes, sensors, teams, triggers
from . import aliases as aliases_api
from . import executions as executions_api
from . import policies as policies_api
from .user import API_VERSION

ERROR_STATUSES = {
    "400": "Invalid input: the faultstring names the field and the problem",
    "401": "No credential, or one that is unknown, expired, disabled or revoked",
    "403": "The caller may not do this",
    "404": "No such object (or not the caller's)",
    "409": "An object with that reference already exists (conflict-id names it)",
    "413": "The request body is larger than ST2_MAX_BODY_BYTES",
    "429": "Too many failed logins or open streams: Retry-After says when to try again",
}


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required=(), **properties):
    """A request body naming `properties`; other fields are allowed."""
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
ANY_OBJECT = {"type": "object"}
SSE = "text/event-stream"

SCHEMAS = {shape.name: shape.schema(ref) for shape in shapes.ALL}


# --- operations ---------------------------------------------------------------------------


def query(name, schema=STRING, description=None):
    parameter = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        parameter["description"] = description
    return parameter


def path(name, example=None):
    """A path parameter; `example` names an object every fresh install has, so the fuzzer
    reaches past the 404."""
    parameter = {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
    if example is not None:
        parameter["example"] = example
    return parameter


SORT = query("sort", description="comma-separated filter names, each optionally - (descending)")
PAGING = [
    query("limit", {"type": "integer"}, "page size; -1 for everything (admins)"),
    query("offset", {"type": "integer", "minimum": 0}),
    query("include_attributes", description="comma-separated fields to return"),
    query("exclude_attributes", description="comma-separated fields to leave out"),
]

ACTION_SEARCH = query(
    "q",
    {"type": "string", "maxLength": catalog.MAX_SEARCH_CHARACTERS},
    "an extension: actions holding every word (at most "
    f"{catalog.MAX_SEARCH_WORDS}), in any case, in their ref, description or tags",
)


def filters(allowed):
    return [query(name) for name in sorted(allowed)]


def json_content(schema):
    return {"application/json": {"schema": schema}}


def operation(
    summary, ok, schema=None, errors=(), parameters=(), body=None, public=False, media=None
):
    """One operation answering `ok` with `schema` in JSON (or text in `media`), or an Error."""
    success = {"description": summary}
    if media is not None:
        success["content"] = {media: {"schema": STRING}}
    elif schema is not None:
        success["content"] = json_content(schema)
    responses = {str(ok): success}
    for status in ("400", *([] if public else ["401"]), *map(str, errors)):
        responses[status] = {
            "description": ERROR_STATUSES[status],
            "content": json_content(ref("Error")),
        }
    responses["414"] = {
        "description": "URL longer than the web server accepts (gunicorn answers, in HTML)",
        "content": {"text/html": {"schema": STRING}},
    }
    result = {"summary": summary, "responses": responses}
    if parameters:
        result["parameters"] = list(parameters)
    if body is not None:
        result["requestBody"] = {"required": True, "content": json_content(body)}
    if public:
        result["security"] = []
    return result


def listing(name, allowed=(), extra=(), errors=()):
    schema = {"type": "array", "items": ref(name)}
    parameters = [*filters(allowed), *PAGING, *extra]
    return operation(f"List {name} objects", 200, schema, errors=errors, parameters=parameters)


def detail(name, errors=(404,), **kwargs):
    return operation(f"One {name}", 200, ref(name), errors=errors, **kwargs)


def create(name, body, errors=(403, 409, 413), ok=201, schema=None):
    return operation(f"Create a {name}", ok, schema or ref(name), errors=errors, body=body)


def update(name, body):
    return operation(f"Replace a {name}", 200, ref(name), errors=(403, 404, 409, 413), body=body)


def delete(name):
    return operation(f"Delete a {name}", 204, None, errors=(403, 404))


def paths():
    by_ref = [path("ref_or_id", "core.local")]
    execution = [path("execution_id")]
    return {
        "/auth/v1/tokens": {
            "post": {
                **operation(
                    "Create a token (HTTP Basic credentials)",
                    201,
                    ref("Token"),
                    errors=(401, 413, 429),
                    body=obj(ttl={"type": "integer"}),
                    public=True,
                ),
                "security": [{"basicAuth": []}],
            }
        },
        "/auth/v1/tokens/validate": {
            "post": operation(
                "Is a token valid?",
                200,
                ref("TokenValidity"),
                errors=(413,),
                body=obj(token=STRING),
            )
        },
        "/auth/v1/tokens/revoke": {
            "post": operation(
                "Revoke a token (the token in the body is the credential; an extension)",
                204,
                errors=(401, 413),
                body=obj(["token"], token=STRING),
                public=True,
            )
        },
        "/api/v1": {"get": operation("API version", 200, ref("Version"))},
        "/api/v1/extensions": {
            "get": operation(
                "What this server offers beyond StackStorm's API", 200, ref("Extensions")
            )
        },
        "/api/v1/user": {"get": operation("Who is calling", 200, ref("User"))},
        "/api/v1/apikeys": {
            "get": listing("ApiKey", extra=[query("user"), query("show_secrets", BOOLEAN)]),
            "post": create("ApiKey", apikeys.CREATE_SCHEMA, schema=ref("NewApiKey")),
        },
        "/api/v1/apikeys/{id_or_key}": {
            "parameters": [path("id_or_key")],
            "get": detail("ApiKey", errors=(403, 404)),
            "put": update("ApiKey", apikeys.UPDATE_SCHEMA),
            "delete": delete("ApiKey"),
        },
        "/api/v1/packs": {"get": listing("Pack", packs.FILTERS, [SORT])},
        "/api/v1/packs/views/action_counts": {
            "get": operation(
                "How many actions of each pack the caller sees (an extension)",
                200,
                {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
                parameters=[
                    query(
                        "pack",
                        description="comma-separated pack refs, at most 100 (default: every "
                        "pack with an action)",
                    )
                ],
            )
        },
        "/api/v1/packs/{ref_or_id}": {
            "parameters": [path("ref_or_id", "core")],
            "get": detail("Pack"),
        },
        "/api/v1/configs": {"get": listing("Config", extra=[query("show_secrets", BOOLEAN)])},
        "/api/v1/configs/{pack}": {
            "parameters": [path("pack", "core"), query("show_secrets", BOOLEAN)],
            "get": detail("Config"),
            "put": operation(
                "Replace a pack's config (administrators; validated against its schema)",
                200,
                ref("Config"),
                errors=(403, 404, 413),
                body=ANY_OBJECT,
            ),
        },
        "/api/v1/config_schemas": {"get": listing("ConfigSchema")},
        "/api/v1/config_schemas/{pack}": {
            "parameters": [path("pack", "core")],
            "get": detail("ConfigSchema"),
        },
        "/api/v1/packs/views/problems": {
            "get": operation(
                "What pack registration could not take (administrators; an extension)",
                200,
                {"type": "array", "items": ref("PackProblem")},
                errors=(403,),
                parameters=[query("pack"), query("level"), *PAGING[:2]],
            )
        },
        "/api/v1/sensortypes": {
            "get": listing(
                "SensorType", sensors.FILTERS, [query("enabled", BOOLEAN), query("trigger")]
            )
        },
        "/api/v1/sensortypes/{ref_or_id}": {
            "parameters": [path("ref_or_id")],
            "get": detail("SensorType"),
            "put": operation(
                "Switch a sensor type on or off (administrators; only `enabled` is applied)",
                200,
                ref("SensorType"),
                errors=(403, 404, 413),
                body=obj(enabled=BOOLEAN),
            ),
        },
        "/api/v1/runnertypes": {"get": listing("RunnerType", runnertypes.FILTERS, [SORT])},
        "/api/v1/runnertypes/{name_or_id}": {
            "parameters": [path("name_or_id", "local-shell-cmd")],
            "get": detail("RunnerType"),
            "put": update("RunnerType", catalog.RUNNER_TYPE_SCHEMA),
        },
        "/api/v1/actions": {
            "get": listing("Action", actions.FILTERS, [ACTION_SEARCH]),
            "post": create("Action", catalog.ACTION_SCHEMA),
        },
        "/api/v1/actions/{ref_or_id}": {
            "parameters": by_ref,
            "get": detail("Action"),
            "put": update("Action", catalog.ACTION_SCHEMA),
            "delete": delete("Action"),
        },
        "/api/v1/actions/views/overview": {
            "get": listing("Action", actions.FILTERS, [ACTION_SEARCH])
        },
        "/api/v1/actions/views/overview/{ref_or_id}": {
            "parameters": by_ref,
            "get": detail("Action"),
        },
        "/api/v1/actions/views/parameters/{ref_or_id}": {
            "parameters": by_ref,
            "get": detail("Parameters"),
        },
        "/api/v1/executions": {
            "get": listing(
                "Execution",
                {**executions_api.FILTERS, **executions_api.BOUNDS, "id": "id"},
                [
                    SORT,
                    query("sort_asc", description="oldest first"),
                    query("sort_desc", description="newest first"),
                    query("show_secrets", BOOLEAN),
                    query(
                        executions_api.ACTION_CONTAINS,
                        {"type": "string", "maxLength": executions_api.ACTION_CONTAINS_MAX},
                        "an extension: executions whose action ref contains this text "
                        "(case-insensitive; % and _ match only themselves)",
                    ),
                ],
            ),
            "post": create("Execution", executions.LAUNCH_SCHEMA, errors=(403, 404, 413)),
        },
        "/api/v1/executions/{execution_id}": {
            "parameters": execution,
            "get": detail("Execution"),
            "delete": operation(
                "Cancel an execution (an Error, still 200, when it cannot be canceled)",
                200,
                {"anyOf": [ref("Execution"), ref("Error")]},
                errors=(403, 404),
            ),
        },
        "/api/v1/executions/{execution_id}/output": {
            "parameters": execution,
            "get": {
                **operation(
                    "Output so far, as text",
                    200,
                    errors=(404,),
                    parameters=[query("output_type", {"enum": list(executions_api.OUTPUT_TYPES)})],
                    media="text/plain",
                ),
            },
        },
        "/api/v1/executions/{execution_id}/re_run": {
            "parameters": execution,
            "post": create("Execution", executions.RERUN_SCHEMA, errors=(403, 404, 413)),
        },
        "/api/v1/keys": {
            "get": operation(
                "List KeyValuePair objects (no paging headers, as StackStorm's)",
                200,
                {"type": "array", "items": ref("KeyValuePair")},
                parameters=[
                    *(query(name) for name in ("prefix", "scope", "user", "decrypt", "name")),
                    SORT,
                    *PAGING[:2],
                ],
            )
        },
        "/api/v1/keys/{name}": {
            "parameters": [path("name"), query("scope"), query("user")],
            "get": detail(
                "KeyValuePair", errors=(403, 404), parameters=[query("decrypt", BOOLEAN)]
            ),
            "put": operation(
                "Set a value",
                200,
                ref("KeyValuePair"),
                errors=(403, 413),
                body=datastore.PUT_SCHEMA,
            ),
            "delete": delete("KeyValuePair"),
        },
        "/api/v1/rules": {
            "get": listing("Rule", rules.FILTERS, [query("enabled", BOOLEAN)]),
            "post": create("Rule", rulebook.RULE_SCHEMA),
        },
        "/api/v1/rules/{ref_or_id}": {
            "parameters": by_ref,
            "get": detail("Rule"),
            "put": update("Rule", rulebook.RULE_SCHEMA),
            "delete": delete("Rule"),
        },
        "/api/v1/triggertypes": {
            "get": listing("TriggerType", triggers.TYPE_FILTERS, [SORT]),
            "post": create("TriggerType", trigger_types.TRIGGER_TYPE_SCHEMA),
        },
        "/api/v1/triggertypes/{ref_or_id}": {
            "parameters": [path("ref_or_id", "core.st2.webhook")],
            "get": detail("TriggerType"),
            "put": update("TriggerType", trigger_types.TRIGGER_TYPE_SCHEMA),
            "delete": operation("Delete a TriggerType", 204, None, errors=(403, 404, 409)),
        },
        "/api/v1/triggers": {"get": listing("Trigger")},
        "/api/v1/triggers/{ref_or_id}": {"parameters": by_ref, "get": detail("Trigger")},
        "/api/v1/triggerinstances": {
            "get": listing("TriggerInstance", triggers.INSTANCE_FILTERS, [SORT])
        },
        "/api/v1/triggerinstances/{instance_id}": {
            "parameters": [path("instance_id")],
            "get": detail("TriggerInstance"),
        },
        "/api/v1/triggerinstances/{instance_id}/re_emit": {
            "parameters": [path("instance_id")],
            "post": operation(
                "Send a trigger instance again (administrators only)",
                200,
                ref("ReEmitted"),
                errors=(403, 404),
            ),
        },
        "/api/v1/ruleenforcements": {
            "get": listing("RuleEnforcement", triggers.ENFORCEMENT_FILTERS, [SORT])
        },
        "/api/v1/ruleenforcements/{enforcement_id}": {
            "parameters": [path("enforcement_id")],
            "get": detail("RuleEnforcement"),
        },
        "/api/v1/webhooks": {"get": listing("Trigger")},
        "/api/v1/webhooks/{url}": {
            "parameters": [path("url")],
            "get": detail("Trigger"),
            "post": operation(
                "Fire the rules of a webhook; the body is echoed",
                202,
                ANY_OBJECT,
                errors=(404, 413),
                body=ANY_OBJECT,
            ),
        },
        "/stream/v1/stream": {
            "get": {
                **operation(
                    "Server-sent events",
                    200,
                    errors=(429,),
                    parameters=[query("events")],
                    media=SSE,
                ),
            }
        },
        "/stream/v1/executions/{execution_id}/output": {
            "parameters": execution,
            "get": operation("An execution's output as events", 200, errors=(404, 429), media=SSE),
        },
    }


# --- the views st2web reads (issue 17) -------------------------------------------------------

ANY_MEDIA = {"*/*": {"schema": {}}}


def raw(summary, errors=(404,), parameters=(), media=ANY_MEDIA):
    """An operation answering a file or text, its type that of the content."""
    result = operation(summary, 200, errors=errors, parameters=parameters)
    result["responses"]["200"]["content"] = media
    return result


def view_paths():
    execution = [path("execution_id")]
    pack = [path("ref_or_id", "core")]
    return {
        "/api/v1/executions/views/filters": {
            "get": operation(
                "The values each execution filter takes",
                200,
                ref("ExecutionFilters"),
                parameters=[query("types", description="comma-separated filter names")],
            )
        },
        "/api/v1/executions/{execution_id}/result": {
            "parameters": execution,
            "get": raw(
                "The result alone, as JSON text",
                parameters=[
                    query(name, BOOLEAN) for name in ("pretty_format", "compress", "download")
                ],
                media={
                    "text/json": {"schema": STRING},
                    "application/x-gzip": {"schema": STRING},
                },
            ),
        },
        "/api/v1/executions/{execution_id}/attribute/{name}": {
            "parameters": [
                *execution,
                {
                    "name": "name",
                    "in": "path",
                    "required": True,
                    "schema": {"enum": list(executions_api.ATTRIBUTES)},
                },
            ],
            "get": operation("One attribute of an execution (any JSON value)", 200, {}, (404,)),
        },
        "/api/v1/executions/{execution_id}/children": {
            "parameters": execution,
            "get": operation(
                "The executions under it (none until workflows exist)",
                200,
                {"type": "array", "items": ref("Execution")},
                errors=(404,),
                parameters=[query("depth", {"type": "integer"}, "levels; -1 for all")],
            ),
        },
        "/api/v1/rules/views": {"get": listing("RuleView", rules.VIEW_FILTERS)},
        "/api/v1/rules/views/{ref_or_id}": {
            "parameters": [path("ref_or_id")],
            "get": detail("RuleView"),
        },
        "/api/v1/ruleenforcements/views": {
            "get": listing("RuleEnforcementView", triggers.ENFORCEMENT_FILTERS, [SORT])
        },
        "/api/v1/ruleenforcements/views/{enforcement_id}": {
            "parameters": [path("enforcement_id")],
            "get": detail("RuleEnforcementView"),
        },
        "/api/v1/packs/index": {"get": operation("The pack indexes' packs", 200, ref("PackIndex"))},
        "/api/v1/packs/index/search": {
            "post": operation(
                "Packs of the index matching a query, or one pack's entry",
                200,
                {
                    "anyOf": [
                        {"type": "array", "items": ref("PackIndexEntry")},
                        ref("PackIndexEntry"),
                    ]
                },
                errors=(413,),
                body=obj(query=STRING, pack=STRING),
            )
        },
        "/api/v1/packs/index/health": {
            "get": operation("Whether the pack indexes are healthy", 200, ref("PackIndexHealth"))
        },
        "/api/v1/packs/views/files/{ref_or_id}": {
            "parameters": pack,
            "get": operation(
                "A pack's text files",
                200,
                {"type": "array", "items": ref("PackFile")},
                errors=(404,),
            ),
        },
        "/api/v1/packs/views/file/{ref_or_id}/{file_path}": {
            "parameters": [*pack, path("file_path", "pack.yaml")],
            "get": {
                **raw("One file of a pack (from inside it only)"),
                "responses": {
                    **raw("One file of a pack (from inside it only)")["responses"],
                    "304": {"description": "Not modified (If-None-Match, If-Modified-Since)"},
                },
            },
        },
        "/api/v1/actions/views/entry_point/{ref_or_id}": {
            "parameters": [path("ref_or_id", "demo.greet")],
            "get": raw("An action's entry point file (empty when it has none)"),
        },
    }


# --- teams (an extension: st2bridge/api/teams.py) --------------------------------------------


def team_paths():
    team = [path("id_or_name")]
    return {
        "/api/v1/teams": {
            "get": listing("Team", teams.TEAM_FILTERS),
            "post": create("Team", team_admin.CREATE_SCHEMA, errors=(403, 409, 413)),
        },
        "/api/v1/teams/{id_or_name}": {
            "parameters": team,
            "get": detail("Team"),
            "put": update("Team", team_admin.UPDATE_SCHEMA),
            "delete": delete("Team"),
        },
        "/api/v1/teams/{id_or_name}/members/{username}": {
            "parameters": [*team, path("username")],
            "put": operation("Add a member", 200, ref("Team"), errors=(403, 404)),
            "delete": operation("Remove a member", 204, None, errors=(403, 404)),
        },
        "/api/v1/useraccess": {"get": listing("UserAccess", teams.ACCESS_FILTERS)},
        "/api/v1/useraccess/{username}": {
            "parameters": [path("username")],
            "get": detail("UserAccess"),
        },
        "/api/v1/grantables": {
            "get": operation(
                "Packs and actions matching ?q=, to grant (administrators only)",
                200,
                {"type": "array", "items": ref("Grantable")},
                errors=(403,),
                parameters=[*filters(teams.GRANTABLE_FILTERS), *PAGING],
            )
        },
    }


def audit_paths():
    """The audit log (an extension: st2bridge/api/audit.py), read-only."""
    parameters = [
        *filters(["action", *audit.FILTERS]),
        query("before_id", {"type": "integer"}, "only records older than this id"),
        *PAGING,
    ]
    listed = {"type": "array", "items": ref("AuditRecord")}
    summary = "The audit log, newest first (administrators only)"
    return {
        "/api/v1/audit": {
            "get": operation(summary, 200, listed, errors=(403,), parameters=parameters)
        }
    }


# --- launch templates (an extension: st2bridge/api/templates.py) ------------------------------


def template_paths():
    template = [path("ref_or_id", "ops.restart_staging")]
    yaml_text = {"application/x-yaml": {"schema": STRING}}
    return {
        "/api/v1/templates": {
            "get": listing("LaunchTemplate", {"action": "action"}),
            "post": create("LaunchTemplate", launch_templates.SCHEMA),
        },
        "/api/v1/templates/import": {
            "post": {
                **operation(
                    "Create a launch template, or a new version of it, from a YAML document "
                    "(administrators; 200 when it existed)",
                    201,
                    ref("LaunchTemplate"),
                    errors=(403, 409, 413),
                ),
                "requestBody": {"required": True, "content": yaml_text},
            }
        },
        "/api/v1/templates/{ref_or_id}": {
            "parameters": template,
            "get": detail("LaunchTemplate"),
            "put": update("LaunchTemplate", launch_templates.SCHEMA),
            "delete": delete("LaunchTemplate"),
        },
        "/api/v1/templates/{ref_or_id}/run": {
            "parameters": template,
            "post": create("Execution", launch_templates.RUN_SCHEMA, errors=(403, 404, 413)),
        },
        "/api/v1/templates/{ref_or_id}/export": {
            "parameters": template,
            "get": operation(
                "The template as a YAML document (administrators)",
                200,
                errors=(403, 404),
                media="application/x-yaml",
            ),
        },
        "/api/v1/templates/{ref}/versions": {
            "parameters": [path("ref", "ops.restart_staging")],
            "get": listing("LaunchTemplateVersion", errors=(403, 404)),
        },
        "/api/v1/templates/{ref}/versions/{number}": {
            "parameters": [path("ref", "ops.restart_staging"), path("number", "1")],
            "get": detail("LaunchTemplateVersion", errors=(403, 404)),
        },
    }


def with_unversioned(documented):
    """`documented`, and each /auth/v1 and /stream/v1 path without its version as well, as
    st2auth and st2stream serve them (st2web calls those with no `hosts` configured)."""
    aliases = {
        path.replace("/v1/", "/", 1): item
        for path, item in documented.items()
        if path.startswith(("/auth/v1/", "/stream/v1/"))
    }
    return {**documented, **aliases}


# --- the rest of StackStorm's API (aliases, policies, RBAC views, packs, ...) -------------------


def more_paths():
    by_ref = [path("ref_or_id")]
    array_of_objects = {"type": "array", "items": ANY_OBJECT}
    return {
        "/auth/v1/sso": {
            "get": operation(
                "Is single sign-on enabled? (no)", 200, ref("SingleSignOn"), public=True
            )
        },
        "/api/v1/executions/{execution_id}": {
            "put": operation(
                "Cancel (status canceling), or StackStorm's refusal to pause or resume; other "
                "statuses: administrators only",
                200,
                ref("Execution"),
                errors=(403, 404, 413),
                body=lifecycle.UPDATE_SCHEMA,
            ),
        },
        "/api/v1/actions/{ref_or_id}/clone": {
            "parameters": [path("ref_or_id", "core.local")],
            "post": create("Action", catalog.CLONE_SCHEMA, errors=(403, 404, 409, 413)),
        },
        "/api/v1/triggers": {"post": create("Trigger", trigger_changes.TRIGGER_SCHEMA)},
        "/api/v1/triggers/{ref_or_id}": {
            "put": update("Trigger", trigger_changes.TRIGGER_SCHEMA),
            "delete": operation("Delete a Trigger", 204, None, errors=(403, 404, 409)),
        },
        "/api/v1/ruletypes": {
            "get": operation("The rule types", 200, {"type": "array", "items": ref("RuleType")})
        },
        "/api/v1/ruletypes/{rule_type_id}": {
            "parameters": [path("rule_type_id", "standard")],
            "get": detail("RuleType"),
        },
        "/api/v1/timers": {"get": listing("Trigger", extra=[query("timer_type")])},
        "/api/v1/timers/{ref_or_id}": {"parameters": by_ref, "get": detail("Trigger")},
        "/api/v1/actionalias": {
            "get": listing("ActionAlias", aliases_api.FILTERS),
            "post": create("ActionAlias", aliases.ALIAS_SCHEMA),
        },
        "/api/v1/actionalias/{ref_or_id}": {
            "parameters": by_ref,
            "get": detail("ActionAlias"),
            "put": update("ActionAlias", aliases.ALIAS_SCHEMA),
            "delete": delete("ActionAlias"),
        },
        "/api/v1/actionalias/match": {
            "post": operation(
                "The alias format a command matches",
                200,
                ref("ActionAliasMatch"),
                errors=(413,),
                body=alias_execution.MATCH_SCHEMA,
            )
        },
        "/api/v1/actionalias/help": {
            "get": operation(
                "Help strings of the enabled aliases",
                200,
                ref("ActionAliasHelp"),
                parameters=[query(name) for name in ("filter", "pack", "limit", "offset")],
            )
        },
        "/api/v1/aliasexecution": {
            "post": create("AliasExecution", alias_execution.EXECUTE_SCHEMA, errors=(403, 404, 413))
        },
        "/api/v1/aliasexecution/match_and_execute": {
            "post": create(
                "AliasExecutions", alias_execution.MATCH_AND_EXECUTE_SCHEMA, errors=(403, 404, 413)
            )
        },
        "/api/v1/policytypes": {
            "get": listing("PolicyType", extra=[query(n) for n in ("resource_type", "name", "id")])
        },
        "/api/v1/policytypes/{ref_or_id}": {
            "parameters": [path("ref_or_id", "action.concurrency")],
            "get": detail("PolicyType"),
        },
        "/api/v1/policies": {
            "get": listing("Policy", policies_api.FILTERS),
            "post": create("Policy", policies.POLICY_SCHEMA),
        },
        "/api/v1/policies/{ref_or_id}": {
            "parameters": by_ref,
            "get": detail("Policy"),
            "put": update("Policy", policies.POLICY_SCHEMA),
            "delete": delete("Policy"),
        },
        "/api/v1/packs/install": {
            "post": create(
                "AsyncRequest", pack_management.INSTALL_SCHEMA, errors=(403, 413), ok=202
            )
        },
        "/api/v1/packs/uninstall": {
            "post": create(
                "AsyncRequest", pack_management.UNINSTALL_SCHEMA, errors=(403, 404, 413), ok=202
            )
        },
        "/api/v1/packs/register": {
            "post": create(
                "PacksRegistered", pack_management.REGISTER_SCHEMA, errors=(403, 413), ok=200
            )
        },
        **rbac_paths(),
        "/api/v1/service_registry/groups": {
            "get": operation("Groups of this server's processes", 200, ref("ServiceGroups"), (403,))
        },
        "/api/v1/service_registry/groups/{group_id}/members": {
            "parameters": [path("group_id", "api")],
            "get": detail("ServiceMembers", errors=(403, 404)),
        },
        "/api/v1/inquiries": {
            "get": operation(
                "Inquiries waiting for an answer (none: no workflow runs here)",
                200,
                array_of_objects,
                parameters=PAGING,
            )
        },
        "/api/v1/inquiries/{inquiry_id}": {
            "parameters": [path("inquiry_id")],
            "get": operation("One inquiry", 200, ANY_OBJECT, errors=(404,)),
            "put": operation(
                "Answer an inquiry",
                200,
                ANY_OBJECT,
                errors=(404, 413),
                body=inquiries.RESPONSE_SCHEMA,
            ),
        },
        "/api/v1/traces": {
            "get": operation(
                "Traces (none are kept here)", 200, array_of_objects, parameters=PAGING
            )
        },
        "/api/v1/traces/{trace_id}": {
            "parameters": [path("trace_id")],
            "get": operation("One trace", 200, ANY_OBJECT, errors=(404,)),
        },
    }


def rbac_paths():
    admin = (403,)
    return {
        "/api/v1/rbac/roles": {
            "get": operation(
                "Roles: StackStorm's system roles and the teams (administrators only)",
                200,
                {"type": "array", "items": ref("Role")},
                errors=admin,
                parameters=[query("name"), query("system", BOOLEAN)],
            )
        },
        "/api/v1/rbac/roles/{name_or_id}": {
            "parameters": [path("name_or_id", "admin")],
            "get": detail("Role", errors=(403, 404)),
        },
        "/api/v1/rbac/role_assignments": {
            "get": operation(
                "Who holds which role (yours with ?user=<you>; everyone's for administrators)",
                200,
                {"type": "array", "items": ref("RoleAssignment")},
                errors=admin,
                parameters=[query(n) for n in ("user", "role", "source")]
                + [query("remote", BOOLEAN)],
            )
        },
        "/api/v1/rbac/role_assignments/{assignment_id}": {
            "parameters": [path("assignment_id")],
            "get": detail("RoleAssignment", errors=(403, 404)),
        },
        "/api/v1/rbac/permission_types": {
            "get": operation(
                "StackStorm's permission types (administrators only)",
                200,
                ref("PermissionTypes"),
                errors=admin,
            )
        },
        "/api/v1/rbac/permission_types/{resource_type}": {
            "parameters": [path("resource_type", "action")],
            "get": detail("ResourcePermissionTypes", errors=(403, 404)),
        },
    }


def merged_paths(*groups):
    """Path items of every group, the operations of one path from several groups together."""
    merged = {}
    for group in groups:
        for name, item in group.items():
            merged[name] = {**merged.get(name, {}), **item}
    return merged


def document():
    return {
        "openapi": "3.1.0",
        "info": {"title": "StackStorm-compatible API (embedded)", "version": API_VERSION},
        "paths": with_unversioned(
            merged_paths(
                paths(), view_paths(), team_paths(), audit_paths(), template_paths(), more_paths()
            )
        ),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "tokenHeader": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"},
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "St2-Api-Key"},
                "basicAuth": {"type": "http", "scheme": "basic"},
            },
        },
        "security": [{"tokenHeader": []}, {"apiKeyHeader": []}],
    }


def openapi_json(request):
    """Public, like the rest of StackStorm's documentation: it holds no data."""
    if request.method != "GET":
        return JsonResponse({"faultstring": "Method not allowed"}, status=405)
    return JsonResponse(document())


urlpatterns = [re_path(r"^api/v1/openapi\.json$", openapi_json)]
