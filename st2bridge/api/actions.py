"""/api/v1/actions (notes §3.2): list, get, create, replace, delete, and the views that show
runner and action parameters merged. Only what the caller's teams let them see is there
(st2bridge.teams): lists are filtered, and an action outside that is "not found", with the
same answer as a missing one."""

from rest_framework.response import Response

from st2bridge import catalog, teams
from st2bridge.errors import InvalidInput, NotFound
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


def filtered(request, caller):
    actions = teams.visible_actions(caller.user, Action.objects.all())
    actions = actions.filter(**query_filters(request, FILTERS))
    actions = catalog.with_ids(actions, request.query_params.get("id"))
    return catalog.with_tag(actions, request.query_params.get("tags"))


def find_visible(caller, ref_or_id, for_view=False):
    """catalog.find_action(_for_view), with an action the caller may not see not found."""
    action = (catalog.find_action_for_view if for_view else catalog.find_action)(ref_or_id)
    if teams.may_see_action(caller.user, action.ref):
        return action
    if for_view:
        raise NotFound(
            f'Database lookup for ref="{ref_or_id}" resulted in exception. '
            f'Referenced action "{ref_or_id}" doesnt exist'
        )
    raise NotFound(f'Resource with a reference or id "{ref_or_id}" not found')


class ActionList(ApiView):
    def get(self, request):
        select = selector(request)
        page, headers = paginate(request, filtered(request, self.caller), self.caller)
        return Response([select(catalog.action_to_api(action)) for action in page], headers=headers)

    def post(self, request):
        action = catalog.create_action(self.caller, json_body(request))
        return Response(catalog.action_to_api(action), status=201)


class ActionDetail(ApiView):
    def get(self, request, ref_or_id):
        return Response(
            selector(request)(catalog.action_to_api(find_visible(self.caller, ref_or_id)))
        )

    def put(self, request, ref_or_id):
        action = find_visible(self.caller, ref_or_id)
        action = catalog.update_action(self.caller, action, json_body(request))
        return Response(catalog.action_to_api(action))

    def delete(self, request, ref_or_id):
        action = find_visible(self.caller, ref_or_id)
        catalog.delete_action(self.caller, action, json_body(request))
        return Response(status=204)


class OverviewList(ApiView):
    def get(self, request):
        select = selector(request)
        page, headers = paginate(request, filtered(request, self.caller), self.caller)
        merged = catalog.merged_parameters_for(page)
        data = [select(catalog.action_to_api(action, merged[action.id])) for action in page]
        return Response(data, headers=headers)


class OverviewDetail(ApiView):
    def get(self, request, ref_or_id):
        action = find_visible(self.caller, ref_or_id)
        merged = catalog.merged_parameters(action)
        return Response(selector(request)(catalog.action_to_api(action, merged)))


class ParametersView(ApiView):
    def get(self, request, ref_or_id):
        action = find_visible(self.caller, ref_or_id, for_view=True)
        return Response({"parameters": catalog.merged_parameters(action)})


urlpatterns = [
    route(r"api/v1/actions", ActionList),
    route(r"api/v1/actions/views/overview", OverviewList),
    route(r"api/v1/actions/views/overview/(?P<ref_or_id>[^/]+)", OverviewDetail),
    route(r"api/v1/actions/views/parameters/(?P<ref_or_id>[^/]+)", ParametersView),
    route(r"api/v1/actions/(?P<ref_or_id>[^/]+)", ActionDetail),
]
