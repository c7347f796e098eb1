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
    attribute_choice,
    json_body,
    page_headers,
    page_window,
    query_filters,
    route,
    selector,
)
from .rendered import RenderedRows, json_list

EXCLUDABLE = {"parameters", "notify"}  # StackStorm refuses excluding anything else
FILTERS = {"name": "name", "pack": "pack"}
# Rendered actions kept per process (st2bridge.api.rendered): a catalog of 5,000 listed and
# in overview, with room to spare; about 1 KB each.
RENDERED = RenderedRows(20_000)
RUNNER_TYPE = catalog.ACTION_ROW.index("runner_type")


def choice(request):
    """The attribute_choice() of an action request, which may exclude only EXCLUDABLE."""
    include, exclude = attribute_choice(request, ACTION)
    for name in exclude:
        if name not in EXCLUDABLE:
            raise InvalidInput(f"Invalid or unsupported exclude attribute specified: {name}")
    return include, exclude


def select_for(request):
    return selector(ACTION, *choice(request))


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


def rendered_list(request, caller, overview=False):
    """A page of actions (as overviews: parameters merged with their runner's), each
    rendered once per content of its rows (st2bridge.api.rendered): the same bytes as
    rendering action_to_api() of every action, without decoding and encoding them all."""
    include, exclude = choice(request)
    limit, offset = page_window(request, caller)
    actions = filtered(request, caller)
    total = actions.count()
    rows = catalog.action_rows(actions)
    rows = list(rows[offset:] if limit is None else rows[offset : offset + limit])
    runners = {}
    if overview:
        runners = catalog.runner_parameter_texts({row[RUNNER_TYPE] for row in rows})
    select = selector(ACTION, include, exclude)

    def rendered(row):
        if overview:
            runner = runners.get(row[RUNNER_TYPE])
            parts = (*row, include, exclude, "overview", runner)
            return RENDERED.get(parts, lambda: select(catalog.overview_of_row(row, runner)))
        parts = (*row, include, exclude)
        return RENDERED.get(
            parts, lambda: select(catalog.action_to_api(catalog.action_of_row(row)))
        )

    return json_list([rendered(row) for row in rows], page_headers(total, limit))


class ActionList(ApiView):
    def get(self, request):
        return rendered_list(request, self.caller)

    def post(self, request):
        action = catalog.create_action(self.caller, json_body(request))
        return Response(catalog.action_to_api(action), status=201)


class ActionDetail(ApiView):
    def get(self, request, ref_or_id):
        return Response(
            select_for(request)(catalog.action_to_api(access.find_action(self.caller, ref_or_id)))
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
        return rendered_list(request, self.caller, overview=True)


class OverviewDetail(ApiView):
    def get(self, request, ref_or_id):
        action = access.find_action(self.caller, ref_or_id)
        merged = catalog.merged_parameters(action)
        return Response(select_for(request)(catalog.action_to_api(action, merged)))


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
