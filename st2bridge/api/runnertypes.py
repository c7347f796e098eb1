"""/api/v1/runnertypes (notes §3.3): list (?name= filters to exactly one), get, enable."""

from rest_framework.response import Response

from st2bridge import access, catalog
from st2bridge.shapes import RUNNER_TYPE

from .base import (
    ApiView,
    attribute_selector,
    json_body,
    list_response,
    query_filters,
    query_sort,
    route,
)

FILTERS = {"name": "name"}


class RunnerTypeList(ApiView):
    def get(self, request):
        runners = access.visible_runner_types(self.caller).filter(**query_filters(request, FILTERS))
        runners = catalog.with_ids(runners, request.query_params.get("id"))
        runners = runners.order_by(*query_sort(request, FILTERS, ("name",)))
        to_api = catalog.runner_type_to_api
        return list_response(request, runners, self.caller, to_api, RUNNER_TYPE, default_limit=100)


class RunnerTypeDetail(ApiView):
    def get(self, request, name_or_id):
        select = attribute_selector(request, RUNNER_TYPE)
        return Response(
            select(catalog.runner_type_to_api(access.find_runner_type(self.caller, name_or_id)))
        )

    def put(self, request, name_or_id):
        runner = access.find_runner_type(self.caller, name_or_id)
        runner = catalog.set_runner_enabled(self.caller, runner, json_body(request))
        return Response(catalog.runner_type_to_api(runner))


urlpatterns = [
    route(r"api/v1/runnertypes", RunnerTypeList),
    route(r"api/v1/runnertypes/(?P<name_or_id>[^/]+)", RunnerTypeDetail),
]
