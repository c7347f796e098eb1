"""/api/v1/packs (notes §3.1): list and get by ref or id. Only packs where the caller's teams
let them see something are there (st2bridge.access); the others are "not found"."""

from rest_framework.response import Response

from st2bridge import access, catalog, packs
from st2bridge.errors import InvalidInput
from st2bridge.shapes import PACK, PACK_PROBLEM

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


class ActionCounts(ApiView):
    """An extension of this API: {pack ref: how many actions of it the caller sees}, for the
    packs of ?pack=a,b,c (up to 100), else every pack with an action. One query, so a page of
    packs shows its counts without listing every action."""

    def get(self, request):
        raw = request.query_params.get("pack")
        refs = None if raw is None else [ref.strip() for ref in raw.split(",") if ref.strip()]
        if refs is not None and len(refs) > catalog.MAX_IDS:
            raise InvalidInput(f'Parameter "pack" names more than {catalog.MAX_IDS} packs.')
        return Response(catalog.action_counts(self.caller, refs))


class ProblemList(ApiView):
    """An extension (GET /api/v1/extensions: `pack_problems`): what the last registration
    could not take from the pack directories, or took with a warning; admins only."""

    def get(self, request):
        problems = packs.list_problems(
            self.caller,
            pack=request.query_params.get("pack") or None,
            level=request.query_params.get("level") or None,
        )
        return list_response(request, problems, self.caller, lambda problem: problem, PACK_PROBLEM)


urlpatterns = [
    route(r"api/v1/packs", PackList),
    route(r"api/v1/packs/views/action_counts", ActionCounts),
    route(r"api/v1/packs/views/problems", ProblemList),
    route(r"api/v1/packs/(?P<ref_or_id>[^/]+)", PackDetail),
]
