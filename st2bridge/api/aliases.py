"""/api/v1/actionalias and /api/v1/aliasexecution (StackStorm's action aliases): CRUD for
administrators, reading for whoever sees the alias's action, matching a command and running
the alias it matches (st2bridge.alias_execution: through the launch path, as the caller)."""

from rest_framework.response import Response

from st2bridge import access, alias_execution, alias_formats, aliases
from st2bridge.aliases import alias_to_api
from st2bridge.shapes import ACTION_ALIAS

from .base import (
    ApiView,
    attribute_selector,
    json_body,
    list_response,
    query_filters,
    query_int,
    route,
    show_secrets,
)

FILTERS = {"name": "name", "pack": "pack"}


class AliasList(ApiView):
    def get(self, request):
        found = access.visible_aliases(self.caller).filter(**query_filters(request, FILTERS))
        return list_response(request, found, self.caller, alias_to_api, ACTION_ALIAS, 100)

    def post(self, request):
        alias = aliases.create_alias(self.caller, json_body(request))
        return Response(alias_to_api(alias), status=201)


class AliasDetail(ApiView):
    def get(self, request, ref_or_id):
        select = attribute_selector(request, ACTION_ALIAS)
        return Response(select(alias_to_api(access.find_alias(self.caller, ref_or_id))))

    def put(self, request, ref_or_id):
        alias = access.find_alias(self.caller, ref_or_id)
        alias = aliases.update_alias(self.caller, alias, json_body(request))
        return Response(alias_to_api(alias))

    def delete(self, request, ref_or_id):
        aliases.delete_alias(self.caller, access.find_alias(self.caller, ref_or_id))
        return Response(status=204)


class AliasMatch(ApiView):
    def post(self, request):
        alias, display, representation = alias_execution.match(self.caller, json_body(request))
        return Response(
            {
                "actionalias": alias_to_api(alias),
                "display": display,
                "representation": representation,
            }
        )


class AliasHelp(ApiView):
    def get(self, request):
        params = request.query_params
        return Response(
            alias_formats.helpstrings(
                access.visible_aliases(self.caller),
                search=params.get("filter", ""),
                pack=params.get("pack", ""),
                limit=max(query_int(request, "limit") or 0, 0),
                offset=max(query_int(request, "offset") or 0, 0),
            )
        )


class AliasExecution(ApiView):
    def post(self, request):
        unmasked = show_secrets(request, self.caller)
        result = alias_execution.execute(self.caller, json_body(request), unmasked)
        return Response(result, status=201)


class AliasMatchAndExecute(ApiView):
    def post(self, request):
        unmasked = show_secrets(request, self.caller)
        results = alias_execution.match_and_execute(self.caller, json_body(request), unmasked)
        return Response({"results": results}, status=201)


urlpatterns = [
    route(r"api/v1/actionalias", AliasList),
    route(r"api/v1/actionalias/match", AliasMatch),
    route(r"api/v1/actionalias/help", AliasHelp),
    route(r"api/v1/actionalias/(?P<ref_or_id>[^/]+)", AliasDetail),
    route(r"api/v1/aliasexecution", AliasExecution),
    route(r"api/v1/aliasexecution/match_and_execute", AliasMatchAndExecute),
]
