"""/api/v1/webhooks (notes §6.3): custom hooks fire the rules whose webhook trigger has that
url; /webhooks/st2 fires any trigger with a validated payload. Both need credentials, and any
user may post to them (as in StackStorm): the poster is recorded in the trigger instance, and
the answer is their own body. Reading webhooks goes through st2bridge.access (issue 12)."""

import json

import jsonschema
from rest_framework.response import Response

from st2bridge import dispatch, triggers
from st2bridge.access import visible_webhooks
from st2bridge.bodies import describe
from st2bridge.errors import InvalidInput, NotFound
from st2bridge.models import Trigger, TriggerType
from st2bridge.params import to_json_schema
from st2bridge.rows import select_rows

from .base import ApiView, json_type, parse_body, route
from .triggers import trigger_to_api

CREDENTIAL_HEADERS = {"x-auth-token", "st2-api-key", "cookie", "authorization"}


def webhook_triggers(url):
    """Webhook triggers for `url`, leading and trailing slashes ignored on both sides."""
    return Trigger.objects.filter(type=triggers.WEBHOOK, parameters_hash__in=_url_hashes(url))


def _url_hashes(url):
    """A webhook trigger's parameters are exactly {"url": ...} (its schema allows nothing
    else), so the indexed parameters hash of each spelling of the url finds it."""
    url = url.strip("/")
    spellings = [url, f"/{url}", f"{url}/", f"/{url}/"]
    return [triggers.parameters_hash({"url": spelling}) for spelling in spellings]


class WebhookList(ApiView):
    def get(self, request):
        return Response([trigger_to_api(t) for t in visible_webhooks(self.caller)])


class Webhook(ApiView):
    def get(self, request, url):
        trigger = visible_webhooks(self.caller, webhook_triggers(url)).first()
        if trigger is None:
            raise NotFound(f"Webhook {url} not registered with st2")
        return Response(trigger_to_api(trigger))

    def post(self, request, url):
        body = parse_body(request)
        if url.strip("/") == "st2":
            self._fire_any(body)
        else:
            self._fire_custom(request, url, body)
        return Response(body, status=202)

    def _fire_custom(self, request, url, body):
        # One plain SELECT of what dispatch needs: this runs on every webhook (bench/rules.py).
        where = {"type": [triggers.WEBHOOK], "parameters_hash": _url_hashes(url)}
        hooks = [
            Trigger(ref=ref, type=type_)
            for ref, type_ in select_rows(Trigger, ("ref", "type"), where)
        ]
        if not hooks:
            raise NotFound(f"Webhook {url.strip('/')} not registered with st2")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in CREDENTIAL_HEADERS}
        payload = {
            "headers": headers,
            "headers_lower": {key.lower(): value for key, value in headers.items()},
            "body": body,
        }
        for trigger in hooks:
            dispatch.dispatch(
                trigger, payload, {"user": self.caller.username}, self.caller.username
            )

    def _fire_any(self, body):
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
        # StackStorm's dialect (property-level `required: true`) as standard JSON schema.
        validator = jsonschema.Draft4Validator(to_json_schema(trigger_type.payload_schema or {}))
        error = jsonschema.exceptions.best_match(validator.iter_errors(payload))
        if error is not None:
            raise InvalidInput(
                f"Trigger payload validation failed and validation is enabled, not dispatching "
                f'a trigger "{ref}" ({json.dumps(payload)[:200]}): {describe(error)}'
            )
        dispatch.dispatch(trigger, payload, {"user": self.caller.username}, self.caller.username)


urlpatterns = [
    route(r"api/v1/webhooks", WebhookList),
    route(r"api/v1/webhooks/(?P<url>.+?)", Webhook),
]
