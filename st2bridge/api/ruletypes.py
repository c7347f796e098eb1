"""/api/v1/ruletypes (StackStorm's two rule types; everyone reads them) and /api/v1/timers
(the timer triggers rules use, st2bridge.timers)."""

from rest_framework.response import Response

from st2bridge import rule_types, timers
from st2bridge.shapes import TRIGGER
from st2bridge.triggers import trigger_to_api

from .base import ApiView, list_response, route


class RuleTypeList(ApiView):
    def get(self, request):
        return Response([rule_types.rule_type_to_api(item) for item in rule_types.RULE_TYPES])


class RuleTypeDetail(ApiView):
    def get(self, request, rule_type_id):
        return Response(rule_types.rule_type_to_api(rule_types.find_rule_type(rule_type_id)))


class TimerList(ApiView):
    def get(self, request):
        found = timers.timer_triggers(self.caller, request.query_params.get("timer_type"))
        return list_response(request, found, self.caller, trigger_to_api, TRIGGER)


class TimerDetail(ApiView):
    def get(self, request, ref_or_id):
        return Response(trigger_to_api(timers.find_timer(self.caller, ref_or_id)))


urlpatterns = [
    route(r"api/v1/ruletypes", RuleTypeList),
    route(r"api/v1/ruletypes/(?P<rule_type_id>[^/]+)", RuleTypeDetail),
    route(r"api/v1/timers", TimerList),
    route(r"api/v1/timers/(?P<ref_or_id>[^/]+)", TimerDetail),
]
