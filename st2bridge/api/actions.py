"""/api/v1/actions (notes §3.2): list, get, create, replace, delete, and the views that show
runner and action parameters merged."""

from rest_framework.response import Response

from st2bridge import catalog
from st2bridge.errors import InvalidInput
from st2bridge.models import Action

from .base import (
    ApiView,
    attribute_selector,
    json_body,
    paginate,
    query_filters,
    route,
)

FIELDS = {
    "id", "uid", "ref", "pack", "name", "description", "enabled", "entry_point",
    "runner_type", "parameters", "output_schema", "tags", "notify", "metadata_file",
}  # fmt: skip
MANDATORY = ("id", "ref")
EXCLUDABLE = {"parameters", "notify"}  # StackStorm refuses excluding anything else
FILTERS = {"name": "name", "pack": "pack"}


def selector(request):
    select = attribute_selector(request, FIELDS, MANDATORY)
    for name in request.query_params.get("exclude_attributes", "").split(","):
        name = name.strip().split(".")[0]
        if name and name not in EXCLUDABLE:
            raise InvalidInput(f"Invalid or unsupported exclude attribute specified: {name}")
    return select


def filtered(request):
    actions = Action.objects.filter(**query_filters(request, FILTERS))
    actions = catalog.with_ids(actions, request.query_params.get("id"))
    return catalog.with_tag(actions, request.query_params.get("tags"))


class ActionList(ApiView):
    def get(self, request):
        select = selector(request)
        page, headers = paginate(request, filtered(request), self.caller)
        return Response([select(catalog.action_to_api(action)) for action in page], headers=headers)

    def post(self, request):
        action = catalog.create_action(self.caller, json_body(request))
        return Response(catalog.action_to_api(action), status=201)


class ActionDetail(ApiView):
    def get(self, request, ref_or_id):
        return Response(selector(request)(catalog.action_to_api(catalog.find_action(ref_or_id))))

    def put(self, request, ref_or_id):
        action = catalog.find_action(ref_or_id)
        action = catalog.update_action(self.caller, action, json_body(request))
        return Response(catalog.action_to_api(action))

    def delete(self, request, ref_or_id):
        action = catalog.find_action(ref_or_id)
        catalog.delete_action(self.caller, action, json_body(request))
        return Response(status=204)


class OverviewList(ApiView):
    def get(self, request):
        select = selector(request)
        page, headers = paginate(request, filtered(request), self.caller)
        merged = catalog.merged_parameters_for(page)
        data = [select(catalog.action_to_api(action, merged[action.id])) for action in page]
        return Response(data, headers=headers)


class OverviewDetail(ApiView):
    def get(self, request, ref_or_id):
        action = catalog.find_action(ref_or_id)
        merged = catalog.merged_parameters(action)
        return Response(selector(request)(catalog.action_to_api(action, merged)))


class ParametersView(ApiView):
    def get(self, request, ref_or_id):
        action = catalog.find_action_for_view(ref_or_id)
        return Response({"parameters": catalog.merged_parameters(action)})


urlpatterns = [
    route(r"api/v1/actions", ActionList),
    route(r"api/v1/actions/views/overview", OverviewList),
    route(r"api/v1/actions/views/overview/(?P<ref_or_id>[^/]+)", OverviewDetail),
    route(r"api/v1/actions/views/parameters/(?P<ref_or_id>[^/]+)", ParametersView),
    route(r"api/v1/actions/(?P<ref_or_id>[^/]+)", ActionDetail),
]
