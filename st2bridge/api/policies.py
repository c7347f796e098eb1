"""/api/v1/policytypes (StackStorm's core policy types, read by everyone) and
/api/v1/policies (read by whoever sees the policy's action; written by administrators).
Policies are shown, not enforced yet (st2bridge.policies)."""

from rest_framework.response import Response

from st2bridge import access, policies
from st2bridge.policies import policy_to_api, policy_type_to_api
from st2bridge.shapes import POLICY, POLICY_TYPE

from .base import ApiView, attribute_selector, json_body, list_response, query_filters, route

FILTERS = {
    "pack": "pack",
    "name": "name",
    "resource_ref": "resource_ref",
    "policy_type": "policy_type",
}


def _comma_list(request, name):
    return [part for part in request.query_params.get(name, "").split(",") if part]


class PolicyTypeList(ApiView):
    def get(self, request):
        found = policies.filtered_policy_types(
            request.query_params.get("resource_type"),
            names=_comma_list(request, "name"),
            ids=_comma_list(request, "id"),
        )
        return list_response(request, found, self.caller, policy_type_to_api, POLICY_TYPE, 100)


class PolicyTypeDetail(ApiView):
    def get(self, request, ref_or_id):
        select = attribute_selector(request, POLICY_TYPE)
        return Response(select(policy_type_to_api(policies.find_policy_type(ref_or_id))))


class PolicyList(ApiView):
    def get(self, request):
        found = access.visible_policies(self.caller).filter(**query_filters(request, FILTERS))
        return list_response(request, found, self.caller, policy_to_api, POLICY, 100)

    def post(self, request):
        policy = policies.create_policy(self.caller, json_body(request))
        return Response(policy_to_api(policy), status=201)


class PolicyDetail(ApiView):
    def get(self, request, ref_or_id):
        select = attribute_selector(request, POLICY)
        return Response(select(policy_to_api(access.find_policy(self.caller, ref_or_id))))

    def put(self, request, ref_or_id):
        policy = access.find_policy(self.caller, ref_or_id)
        policy = policies.update_policy(self.caller, policy, json_body(request))
        return Response(policy_to_api(policy))

    def delete(self, request, ref_or_id):
        policies.delete_policy(self.caller, access.find_policy(self.caller, ref_or_id))
        return Response(status=204)


urlpatterns = [
    route(r"api/v1/policytypes", PolicyTypeList),
    route(r"api/v1/policytypes/(?P<ref_or_id>[^/]+)", PolicyTypeDetail),
    route(r"api/v1/policies", PolicyList),
    route(r"api/v1/policies/(?P<ref_or_id>[^/]+)", PolicyDetail),
]
