"""Webhooks (notes §6.3): a POST to /api/v1/webhooks/<url> fires the rules whose webhook trigger
has that url, with the request's headers (credentials left out) and body as the payload; a POST
to /api/v1/webhooks/st2 fires any trigger with the payload it names, validated against the
trigger type's payload schema. Any authenticated user may post (as in StackStorm): the poster is
recorded in the trigger instance. Who may read webhooks is st2bridge.access's."""

import json

import jsonschema

from . import access, dispatch, triggers
from .bodies import describe, json_type
from .errors import InvalidInput, NotFound
from .models import Trigger, TriggerType
from .params import to_json_schema

CREDENTIAL_HEADERS = {"x-auth-token", "st2-api-key", "cookie", "authorization"}
ANY_TRIGGER = "st2"  # the url of StackStorm's generic webhook


def webhook_triggers(url):
    """Webhook triggers for `url`, leading and trailing slashes ignored on both sides."""
    return Trigger.objects.filter(type=triggers.WEBHOOK, parameters_hash__in=_url_hashes(url))


def _url_hashes(url):
    """A webhook trigger's parameters are exactly {"url": ...} (its schema allows nothing
    else), so the indexed parameters hash of each spelling of the url finds it."""
    url = url.strip("/")
    spellings = [url, f"/{url}", f"{url}/", f"/{url}/"]
    return [triggers.parameters_hash({"url": spelling}) for spelling in spellings]


def fire(caller, url, headers, body):
    """Fire the webhook `url` that `caller` posted `body` to, with the request's `headers`:
    every trigger it names is dispatched now (its rules enforced, their executions
    requested). NotFound for a url no webhook trigger has; InvalidInput for a /webhooks/st2
    body that names no known trigger or whose payload its trigger type refuses."""
    if url.strip("/") == ANY_TRIGGER:
        fired = [_any_trigger(caller, body)]
    else:
        hooks = list(webhook_triggers(url))
        if not hooks:
            raise NotFound(f"Webhook {url.strip('/')} not registered with st2")
        fired = [(trigger, _custom_payload(headers, body)) for trigger in hooks]
    for trigger, payload in fired:
        dispatch.dispatch(trigger, payload, {"user": caller.username}, caller.username)


def _custom_payload(headers, body):
    kept = {key: value for key, value in headers.items() if key.lower() not in CREDENTIAL_HEADERS}
    return {
        "headers": kept,
        "headers_lower": {key.lower(): value for key, value in kept.items()},
        "body": body,
    }


def _any_trigger(caller, body):
    """(trigger, payload) of a /webhooks/st2 body {"trigger": ref, "payload": {...}}; the
    server's own events only from staff (st2bridge.access.require_may_post)."""
    if not isinstance(body, dict):
        raise InvalidInput(f"Webhook body needs to be an object, got: {json_type(body)}")
    ref = body.get("trigger")
    if not ref:
        raise InvalidInput("Trigger not specified.")
    payload = body.get("payload", {})
    trigger = Trigger.objects.filter(ref=ref).first()
    trigger_type = TriggerType.objects.filter(ref=trigger.type if trigger else ref).first()
    if trigger is None or trigger_type is None:
        raise InvalidInput(
            "Trigger payload validation failed and validation is enabled, not dispatching a "
            f'trigger "{ref}": Trigger type with reference "{ref}" doesn\'t exist in the '
            "database"
        )
    access.require_may_post(caller, trigger_type.ref)
    # StackStorm's dialect (property-level `required: true`) as standard JSON schema.
    validator = jsonschema.Draft4Validator(to_json_schema(trigger_type.payload_schema or {}))
    error = jsonschema.exceptions.best_match(validator.iter_errors(payload))
    if error is not None:
        raise InvalidInput(
            f"Trigger payload validation failed and validation is enabled, not dispatching "
            f'a trigger "{ref}" ({json.dumps(payload)[:200]}): {describe(error)}'
        )
    return trigger, payload
