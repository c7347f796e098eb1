"""/api/v1/packs (notes §3.1): list and get by ref or id. Only packs where the caller's teams
let them see something are there (st2bridge.access); the others are "not found"."""

from rest_framework.response import Response

from st2bridge import access, catalog
from st2bridge.shapes import PACK

from .base import ApiView, attribute_selector, list_response, query_filters, route

FILTERS = {"name": "name", "ref": "ref"}


class PackList(ApiView):
    def get(self, request):
        packs = access.visible_packs(self.caller).filter(**query_filters(request, FILTERS))
        packs = catalog.with_ids(packs, request.query_params.get("id"))
        return list_response(request, packs, self.caller, catalog.pack_to_api, PACK, 100)


class PackDetail(ApiView):
    def get(self, request, ref_or_id):
        select = attribute_selector(request, PACK)
        return Response(select(catalog.pack_to_api(access.find_pack(self.caller, ref_or_id))))


urlpatterns = [
    route(r"api/v1/packs", PackList),
    route(r"api/v1/packs/(?P<ref_or_id>[^/]+)", PackDetail),
]
