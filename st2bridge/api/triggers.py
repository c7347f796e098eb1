"""/api/v1/triggertypes (read by everyone; created, changed and deleted by admins),
/triggers (the same; st2bridge.trigger_changes), /triggerinstances and /ruleenforcements
(notes §5.5, §6), with the views st2web reads enforcements through (/ruleenforcements/views:
each with its trigger instance and execution). Every list and detail is read through
st2bridge.access (issue 12: a member sees their own trigger data); re-emitting is for admins
(st2bridge.trigger_instances)."""

from rest_framework.response import Response

from st2bridge import access, trigger_changes, trigger_instances, triggertypes
from st2bridge.shapes import (
    RULE_ENFORCEMENT,
    RULE_ENFORCEMENT_VIEW,
    TRIGGER,
    TRIGGER_INSTANCE,
    TRIGGER_TYPE,
)
from st2bridge.trigger_instances import enforcement_to_api
from st2bridge.triggers import instance_to_api, trigger_to_api
from st2bridge.triggertypes import trigger_type_to_api

from .base import (
    ApiView,
    attribute_selector,
    json_body,
    list_response,
    paginate,
    query_filters,
    query_sort,
    route,
)

TYPE_FILTERS = {"name": "name", "pack": "pack"}


class TriggerTypeList(ApiView):
    def get(self, request):
        filters = query_filters(request, TYPE_FILTERS)
        types = access.visible_trigger_types(self.caller).filter(**filters)
        types = types.order_by(*query_sort(request, TYPE_FILTERS, ("ref",)))
        return list_response(request, types, self.caller, trigger_type_to_api, TRIGGER_TYPE, 100)

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


class TriggerList(ApiView):
    def get(self, request):
        filters = query_filters(request, {"type": "type", "name": "name"})
        triggers = access.visible_triggers(self.caller).filter(**filters)
        # No pagination here (notes §6.2).
        return list_response(request, triggers, self.caller, trigger_to_api, TRIGGER)

    def post(self, request):
        trigger = trigger_changes.create_trigger(self.caller, json_body(request))
        return Response(trigger_to_api(trigger), status=201)


class TriggerDetail(ApiView):
    def get(self, request, ref_or_id):
        return Response(trigger_to_api(access.find_trigger(self.caller, ref_or_id)))

    def put(self, request, ref_or_id):
        trigger = access.find_trigger(self.caller, ref_or_id)
        trigger = trigger_changes.update_trigger(self.caller, trigger, json_body(request))
        return Response(trigger_to_api(trigger))

    def delete(self, request, ref_or_id):
        trigger_changes.delete_trigger(self.caller, access.find_trigger(self.caller, ref_or_id))
        return Response(status=204)


INSTANCE_FILTERS = {
    "trigger": "trigger",
    "trigger_type": "trigger_type",
    "status": "status",
    "timestamp_gt": "occurrence_time__gt",
    "timestamp_lt": "occurrence_time__lt",
}


INSTANCE_SORTABLE = {"trigger": "trigger", "trigger_type": "trigger_type", "status": "status"}
INSTANCE_ORDER = ("-occurrence_time", "trigger", "id")


class TriggerInstanceList(ApiView):
    def get(self, request):
        filters = query_filters(request, INSTANCE_FILTERS)
        instances = access.visible_trigger_instances(self.caller).filter(**filters)
        instances = instances.order_by(*query_sort(request, INSTANCE_SORTABLE, INSTANCE_ORDER))
        return list_response(
            request, instances, self.caller, instance_to_api, TRIGGER_INSTANCE, 100
        )


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
# What sort= may name (StackStorm's filters of enforcements), and the default order.
ENFORCEMENT_SORTABLE = {
    **{name: field for name, field in ENFORCEMENT_FILTERS.items() if "__" not in field},
    "enforced_at": "enforced_at",
}
ENFORCEMENT_ORDER = ("-enforced_at", "rule_ref", "id")


def enforcements(request, caller):
    """The enforcements the caller sees that the query asks for, in the order it asks."""
    found = access.visible_enforcements(caller).filter(
        **query_filters(request, ENFORCEMENT_FILTERS)
    )
    return found.order_by(*query_sort(request, ENFORCEMENT_SORTABLE, ENFORCEMENT_ORDER))


class RuleEnforcementList(ApiView):
    def get(self, request):
        found = enforcements(request, self.caller)
        return list_response(request, found, self.caller, enforcement_to_api, RULE_ENFORCEMENT, 50)


class RuleEnforcementDetail(ApiView):
    def get(self, request, enforcement_id):
        return Response(enforcement_to_api(access.find_enforcement(self.caller, enforcement_id)))


class RuleEnforcementViewList(ApiView):
    def get(self, request):
        select = attribute_selector(request, RULE_ENFORCEMENT_VIEW)
        page, headers = paginate(request, enforcements(request, self.caller), self.caller, 50)
        views = trigger_instances.enforcement_views_to_api(self.caller, page)
        return Response([select(view) for view in views], headers=headers)


class RuleEnforcementViewDetail(ApiView):
    def get(self, request, enforcement_id):
        enforcement = access.find_enforcement(self.caller, enforcement_id)
        [view] = trigger_instances.enforcement_views_to_api(self.caller, [enforcement])
        return Response(attribute_selector(request, RULE_ENFORCEMENT_VIEW)(view))


urlpatterns = [
    route(r"api/v1/triggertypes", TriggerTypeList),
    route(r"api/v1/triggertypes/(?P<ref_or_id>[^/]+)", TriggerTypeDetail),
    route(r"api/v1/triggers", TriggerList),
    route(r"api/v1/triggers/(?P<ref_or_id>[^/]+)", TriggerDetail),
    route(r"api/v1/triggerinstances", TriggerInstanceList),
    route(r"api/v1/triggerinstances/(?P<instance_id>[^/]+)", TriggerInstanceDetail),
    route(r"api/v1/triggerinstances/(?P<instance_id>[^/]+)/re_emit", TriggerInstanceReEmit),
    route(r"api/v1/ruleenforcements", RuleEnforcementList),
    route(r"api/v1/ruleenforcements/views", RuleEnforcementViewList),
    route(r"api/v1/ruleenforcements/views/(?P<enforcement_id>[^/]+)", RuleEnforcementViewDetail),
    route(r"api/v1/ruleenforcements/(?P<enforcement_id>[^/]+)", RuleEnforcementDetail),
]
