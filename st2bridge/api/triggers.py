"""/api/v1/triggertypes (read by everyone; created, changed and deleted by admins),
/triggers, /triggerinstances and /ruleenforcements (notes §5.5, §6). Every list and detail is
read through st2bridge.access (issue 12: a member sees their own trigger data); re-emitting
is for admins (st2bridge.trigger_instances)."""

from rest_framework.response import Response

from st2bridge import access, trigger_instances, triggertypes
from st2bridge.formats import isotime, without_nulls

from .base import ApiView, json_body, list_response, query_filters, route


def trigger_type_to_api(trigger_type):
    return without_nulls(
        {
            "id": trigger_type.id,
            "ref": trigger_type.ref,
            "uid": f"trigger_type:{trigger_type.pack}:{trigger_type.name}",
            "name": trigger_type.name,
            "pack": trigger_type.pack,
            "description": trigger_type.description,
            "payload_schema": trigger_type.payload_schema,
            "parameters_schema": trigger_type.parameters_schema,
            "tags": trigger_type.tags,
            "metadata_file": trigger_type.metadata_file or None,
        }
    )


def trigger_to_api(trigger):
    return without_nulls(
        {
            "id": trigger.id,
            "ref": trigger.ref,
            "uid": f"trigger:{trigger.pack}:{trigger.name}:{trigger.parameters_hash}",
            "name": trigger.name,
            "pack": trigger.pack,
            "type": trigger.type,
            "parameters": trigger.parameters,
            "description": trigger.description or None,
        }
    )


def instance_to_api(instance):
    """StackStorm's shape, and `posted_by` (ours): who caused the instance (a webhook's
    poster, the user of the execution behind an actiontrigger, who re-emitted it); absent
    for timers."""
    data = {
        "id": instance.id,
        "trigger": instance.trigger,
        "payload": instance.payload,
        "occurrence_time": isotime(instance.occurrence_time),
        "status": instance.status,
    }
    if instance.posted_by:
        data["posted_by"] = instance.posted_by
    return data


def enforcement_to_api(enforcement):
    return without_nulls(
        {
            "id": enforcement.id,
            "rule": {
                "ref": enforcement.rule_ref,
                "id": enforcement.rule_id,
                "uid": enforcement.rule_uid,
            },
            "trigger_instance_id": enforcement.trigger_instance_id,
            "execution_id": enforcement.execution_id or None,
            "failure_reason": enforcement.failure_reason or None,
            "enforced_at": isotime(enforcement.enforced_at),
            "status": enforcement.status,
        }
    )


TYPE_FIELDS = {
    "id", "ref", "uid", "name", "pack", "description", "payload_schema", "parameters_schema",
    "tags", "metadata_file",
}  # fmt: skip


class TriggerTypeList(ApiView):
    def get(self, request):
        filters = query_filters(request, {"name": "name", "pack": "pack"})
        types = access.visible_trigger_types(self.caller).filter(**filters)
        return list_response(
            request, types, self.caller, trigger_type_to_api, TYPE_FIELDS, 100, ("id", "ref")
        )

    def post(self, request):
        trigger_type = triggertypes.create_trigger_type(self.caller, json_body(request))
        return Response(trigger_type_to_api(trigger_type), status=201)


class TriggerTypeDetail(ApiView):
    def get(self, request, ref_or_id):
        return Response(trigger_type_to_api(access.find_trigger_type(self.caller, ref_or_id)))

    def put(self, request, ref_or_id):
        trigger_type = access.find_trigger_type(self.caller, ref_or_id)
        body = json_body(request)
        trigger_type = triggertypes.update_trigger_type(self.caller, trigger_type, body)
        return Response(trigger_type_to_api(trigger_type))

    def delete(self, request, ref_or_id):
        trigger_type = access.find_trigger_type(self.caller, ref_or_id)
        triggertypes.delete_trigger_type(self.caller, trigger_type)
        return Response(status=204)


TRIGGER_FIELDS = {"id", "ref", "uid", "name", "pack", "type", "parameters", "description"}


class TriggerList(ApiView):
    def get(self, request):
        filters = query_filters(request, {"type": "type", "name": "name"})
        triggers = access.visible_triggers(self.caller).filter(**filters)
        # No pagination here (notes §6.2).
        return list_response(request, triggers, self.caller, trigger_to_api, TRIGGER_FIELDS)


class TriggerDetail(ApiView):
    def get(self, request, ref_or_id):
        return Response(trigger_to_api(access.find_trigger(self.caller, ref_or_id)))


INSTANCE_FILTERS = {
    "trigger": "trigger",
    "trigger_type": "trigger_type",
    "status": "status",
    "timestamp_gt": "occurrence_time__gt",
    "timestamp_lt": "occurrence_time__lt",
}


INSTANCE_FIELDS = {"id", "trigger", "payload", "occurrence_time", "status", "posted_by"}


class TriggerInstanceList(ApiView):
    def get(self, request):
        filters = query_filters(request, INSTANCE_FILTERS)
        instances = access.visible_trigger_instances(self.caller).filter(**filters)
        return list_response(request, instances, self.caller, instance_to_api, INSTANCE_FIELDS, 100)


class TriggerInstanceDetail(ApiView):
    def get(self, request, instance_id):
        return Response(instance_to_api(access.find_trigger_instance(self.caller, instance_id)))


class TriggerInstanceReEmit(ApiView):
    def post(self, request, instance_id):
        original, payload = trigger_instances.re_emit(self.caller, instance_id)
        message = f"Trigger instance {original.id} succesfully re-sent."
        return Response({"message": message, "payload": payload})


ENFORCEMENT_FILTERS = {
    "rule_ref": "rule_ref",
    "rule_id": "rule_id",
    "execution": "execution_id",
    "trigger_instance": "trigger_instance_id",
    "enforced_at_gt": "enforced_at__gt",
    "enforced_at_lt": "enforced_at__lt",
}
ENFORCEMENT_FIELDS = {
    "id", "rule", "trigger_instance_id", "execution_id", "failure_reason", "enforced_at", "status",
}  # fmt: skip


class RuleEnforcementList(ApiView):
    def get(self, request):
        filters = query_filters(request, ENFORCEMENT_FILTERS)
        enforcements = access.visible_enforcements(self.caller).filter(**filters)
        return list_response(
            request, enforcements, self.caller, enforcement_to_api, ENFORCEMENT_FIELDS, 50
        )


class RuleEnforcementDetail(ApiView):
    def get(self, request, enforcement_id):
        return Response(enforcement_to_api(access.find_enforcement(self.caller, enforcement_id)))


urlpatterns = [
    route(r"api/v1/triggertypes", TriggerTypeList),
    route(r"api/v1/triggertypes/(?P<ref_or_id>[^/]+)", TriggerTypeDetail),
    route(r"api/v1/triggers", TriggerList),
    route(r"api/v1/triggers/(?P<ref_or_id>[^/]+)", TriggerDetail),
    route(r"api/v1/triggerinstances", TriggerInstanceList),
    route(r"api/v1/triggerinstances/(?P<instance_id>[^/]+)", TriggerInstanceDetail),
    route(r"api/v1/triggerinstances/(?P<instance_id>[^/]+)/re_emit", TriggerInstanceReEmit),
    route(r"api/v1/ruleenforcements", RuleEnforcementList),
    route(r"api/v1/ruleenforcements/(?P<enforcement_id>[^/]+)", RuleEnforcementDetail),
]
