"""/api/v1/rules (notes §5.1-5.2), and /rules/views: rules with their action's and trigger's
descriptions, as st2web lists and shows them. Someone else's rule naming an action the
caller's teams hide is not there for them (st2bridge.access), as the action itself is not."""

from rest_framework.response import Response

from st2bridge import access, rulebook
from st2bridge.shapes import RULE, RULE_VIEW

from .base import (
    ApiView,
    attribute_selector,
    json_body,
    paginate,
    query_bool,
    query_filters,
    route,
    show_secrets,
)

FILTERS = {"name": "name", "pack": "pack", "action": "action_ref", "trigger": "trigger_ref"}
VIEW_FILTERS = {"name": "name", "pack": "pack", "user": "created_by"}  # StackStorm's


def shown(request, caller, rules):
    """API dicts of `rules`, trimmed and with secret action parameters masked; a rule whose
    trigger type or action is not registered says so in `warnings` (an extension: GET
    /extensions, rule_warnings)."""
    select = attribute_selector(request, RULE)
    unmasked = show_secrets(request, caller)
    merged = rulebook.merged_parameters_by_action(rules)
    warnings = rulebook.reference_warnings(rules)
    shown = []
    for rule in rules:
        data = rulebook.to_api(rule, unmasked, merged.get(rule.action_ref))
        if rule in warnings:
            data["warnings"] = warnings[rule]
        shown.append(select(data))
    return shown


class RuleList(ApiView):
    def get(self, request):
        rules = access.visible_rules(self.caller).filter(**query_filters(request, FILTERS))
        if request.query_params.get("enabled") not in (None, ""):
            rules = rules.filter(enabled=query_bool(request, "enabled"))
        page, headers = paginate(request, rules, self.caller)
        return Response(shown(request, self.caller, page), headers=headers)

    def post(self, request):
        rule = rulebook.create_rule(self.caller, json_body(request))
        return Response(shown(request, self.caller, [rule])[0], status=201)


class RuleDetail(ApiView):
    def get(self, request, ref_or_id):
        return Response(shown(request, self.caller, [access.find_rule(self.caller, ref_or_id)])[0])

    def put(self, request, ref_or_id):
        rule = access.find_rule(self.caller, ref_or_id)
        rule = rulebook.update_rule(self.caller, rule, json_body(request))
        return Response(shown(request, self.caller, [rule])[0])

    def delete(self, request, ref_or_id):
        rulebook.delete_rule(self.caller, access.find_rule(self.caller, ref_or_id))
        return Response(status=204)


class RuleViewList(ApiView):
    def get(self, request):
        select = attribute_selector(request, RULE_VIEW)
        rules = access.visible_rules(self.caller).filter(**query_filters(request, VIEW_FILTERS))
        page, headers = paginate(request, rules, self.caller)
        views = rulebook.views_to_api(self.caller, page, show_secrets(request, self.caller))
        return Response([select(view) for view in views], headers=headers)


class RuleViewDetail(ApiView):
    def get(self, request, ref_or_id):
        rule = access.find_rule(self.caller, ref_or_id)
        [view] = rulebook.views_to_api(self.caller, [rule], show_secrets(request, self.caller))
        return Response(attribute_selector(request, RULE_VIEW)(view))


urlpatterns = [
    route(r"api/v1/rules", RuleList),
    route(r"api/v1/rules/views", RuleViewList),
    route(r"api/v1/rules/views/(?P<ref_or_id>[^/]+)", RuleViewDetail),
    route(r"api/v1/rules/(?P<ref_or_id>[^/]+)", RuleDetail),
]
