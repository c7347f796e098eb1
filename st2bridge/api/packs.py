"""/api/v1/packs (notes §3.1): list and get by ref or id; the files of a pack and one of
them (/packs/views/files, /packs/views/file: from inside the pack only,
st2bridge.pack_contents); the pack index (/packs/index, its search and health:
st2bridge.pack_index); the problems of the last registration (/packs/views/problems, an
extension). Only packs where the caller's teams let them see something are there
(st2bridge.access); the others are "not found"."""

from django.http import HttpResponse
from rest_framework.response import Response

from st2bridge import access, catalog, pack_contents, pack_index, packs
from st2bridge.errors import InvalidInput
from st2bridge.shapes import PACK, PACK_PROBLEM

from .base import (
    ApiView,
    attribute_selector,
    json_body,
    list_response,
    query_filters,
    query_sort,
    route,
)

FILTERS = {"name": "name", "ref": "ref"}
SEARCH_FIELDS = {"query", "pack"}


class PackList(ApiView):
    def get(self, request):
        packs = access.visible_packs(self.caller).filter(**query_filters(request, FILTERS))
        packs = catalog.with_ids(packs, request.query_params.get("id"))
        packs = packs.order_by(*query_sort(request, FILTERS, ("ref",)))
        return list_response(request, packs, self.caller, catalog.pack_to_api, PACK, 100)


class PackDetail(ApiView):
    def get(self, request, ref_or_id):
        select = attribute_selector(request, PACK)
        return Response(select(catalog.pack_to_api(access.find_pack(self.caller, ref_or_id))))


class PackIndex(ApiView):
    def get(self, request):
        index, status = pack_index.fetch_or_refuse()
        return Response({"status": status, "index": index})


class PackIndexSearch(ApiView):
    """{"query": text}: the index's packs matching it; {"pack": name}: that pack's entry
    ([] when there is none, as StackStorm answers)."""

    def post(self, request):
        body = json_body(request)
        unknown = sorted(set(body) - SEARCH_FIELDS)
        if unknown:
            raise InvalidInput(
                f"Additional properties are not allowed ({unknown[0]!r} was unexpected)"
            )
        if "query" in body:
            return Response(pack_index.search(body["query"]))
        return Response(pack_index.show(body.get("pack")) or [])


class PackIndexHealth(ApiView):
    def get(self, request):
        return Response(pack_index.health())


class PackFiles(ApiView):
    def get(self, request, ref_or_id):
        pack = access.find_pack(self.caller, ref_or_id)
        return Response(pack_contents.text_files(pack))


class PackFile(ApiView):
    def get(self, request, ref_or_id, file_path):
        pack = access.find_pack(self.caller, ref_or_id)
        content, content_type, etag, modified = pack_contents.file_view(
            pack,
            file_path,
            request.headers.get("If-None-Match"),
            request.headers.get("If-Modified-Since"),
        )
        if content is None:
            response = HttpResponse(status=304)
        else:
            response = HttpResponse(content, content_type=content_type)
        response["ETag"], response["Last-Modified"] = etag, modified
        return response


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
    route(r"api/v1/packs/index", PackIndex),
    route(r"api/v1/packs/index/search", PackIndexSearch),
    route(r"api/v1/packs/index/health", PackIndexHealth),
    route(r"api/v1/packs/views/files/(?P<ref_or_id>[^/]+)", PackFiles),
    route(r"api/v1/packs/views/file/(?P<ref_or_id>[^/]+)/(?P<file_path>.*?)", PackFile),
    route(r"api/v1/packs/views/action_counts", ActionCounts),
    route(r"api/v1/packs/views/problems", ProblemList),
    route(r"api/v1/packs/(?P<ref_or_id>[^/]+)", PackDetail),
]
