"""/api/v1/actions (notes §3.2): list, get, create, replace, delete, clone, the views that
show runner and action parameters merged, and the one that shows its entry point. Only what
the caller's teams let them see is there (st2bridge.access): lists are filtered, and an action
outside that is "not found", with the same answer as a missing one."""

from django.http import HttpResponse
from rest_framework.response import Response

from st2bridge import access, catalog, pack_contents
from st2bridge.errors import InvalidInput
from st2bridge.shapes import ACTION

from .base import (
    ApiView,
    attribute_selector,
    json_body,
    paginate,
    query_filters,
    route,
)

EXCLUDABLE = {"parameters", "notify"}  # StackStorm refuses excluding anything else
FILTERS = {"name": "name", "pack": "pack"}


def selector(request):
    select = attribute_selector(request, ACTION)
    for name in request.query_params.get("exclude_attributes", "").split(","):
        name = name.strip().split(".")[0]
        if name and name not in EXCLUDABLE:
            raise InvalidInput(f"Invalid or unsupported exclude attribute specified: {name}")
    return select


def filtered(request, caller):
    actions = access.visible_actions(caller).filter(**query_filters(request, FILTERS))
    actions = catalog.with_ids(actions, request.query_params.get("id"))
    actions = catalog.with_search(actions, request.query_params.get("q"))  # an extension
    return catalog.with_tag(actions, request.query_params.get("tags"))


def find_for_view(caller, ref_or_id):
    """access.find_action, with the 404 answer of StackStorm's /actions/views/parameters."""
    return access.find_action(
        caller,
        ref_or_id,
        f'Database lookup for ref="{ref_or_id}" resulted in exception. '
        f'Referenced action "{ref_or_id}" doesnt exist',
    )


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
            selector(request)(catalog.action_to_api(access.find_action(self.caller, ref_or_id)))
        )

    def put(self, request, ref_or_id):
        action = access.find_action(self.caller, ref_or_id)
        action = catalog.update_action(self.caller, action, json_body(request))
        return Response(catalog.action_to_api(action))

    def delete(self, request, ref_or_id):
        action = access.find_action(self.caller, ref_or_id)
        catalog.delete_action(self.caller, action, json_body(request))
        return Response(status=204)


class ActionClone(ApiView):
    def post(self, request, ref_or_id):
        source = access.find_action(self.caller, ref_or_id)
        clone = catalog.clone_action(self.caller, source, json_body(request))
        return Response(catalog.action_to_api(clone), status=201)


class OverviewList(ApiView):
    def get(self, request):
        select = selector(request)
        page, headers = paginate(request, filtered(request, self.caller), self.caller)
        merged = catalog.merged_parameters_for(page)
        data = [select(catalog.action_to_api(action, merged[action.id])) for action in page]
        return Response(data, headers=headers)


class OverviewDetail(ApiView):
    def get(self, request, ref_or_id):
        action = access.find_action(self.caller, ref_or_id)
        merged = catalog.merged_parameters(action)
        return Response(selector(request)(catalog.action_to_api(action, merged)))


class ParametersView(ApiView):
    def get(self, request, ref_or_id):
        action = find_for_view(self.caller, ref_or_id)
        return Response({"parameters": catalog.merged_parameters(action)})


class EntryPointView(ApiView):
    """The action's entry point file, as text of its type (st2bridge.pack_contents)."""

    def get(self, request, ref_or_id):
        action = access.find_action(self.caller, ref_or_id)
        pack = access.find_pack(self.caller, action.pack)
        text, content_type = pack_contents.entry_point(pack, action)
        return HttpResponse(text, content_type=content_type)


urlpatterns = [
    route(r"api/v1/actions", ActionList),
    route(r"api/v1/actions/views/overview", OverviewList),
    route(r"api/v1/actions/views/overview/(?P<ref_or_id>[^/]+)", OverviewDetail),
    route(r"api/v1/actions/views/parameters/(?P<ref_or_id>[^/]+)", ParametersView),
    route(r"api/v1/actions/views/entry_point/(?P<ref_or_id>[^/]+)", EntryPointView),
    route(r"api/v1/actions/(?P<ref_or_id>[^/]+)", ActionDetail),
    route(r"api/v1/actions/(?P<ref_or_id>[^/]+)/clone", ActionClone),
]
