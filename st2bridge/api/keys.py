"""/api/v1/keys: the key-value datastore (notes §7). The list is paged by limit and offset
but, as StackStorm's, sends no paging headers (X-Total-Count, X-Limit)."""

from rest_framework.response import Response

from st2bridge import datastore

from .base import ApiView, json_body, paginate, query_bool, query_sort, route

SORTABLE = {"name": "name", "scope": "scope"}  # what sort= may name (StackStorm's filters)


def _query(request, name):
    return request.query_params.get(name) or None


class KeyList(ApiView):
    def get(self, request):
        decrypt = query_bool(request, "decrypt")
        items = datastore.list_items(
            self.caller,
            scope=_query(request, "scope"),
            user=_query(request, "user"),
            prefix=_query(request, "prefix"),
            name=_query(request, "name"),
            decrypt=decrypt,
        ).order_by(*query_sort(request, SORTABLE, datastore.LIST_ORDER))
        page, _headers = paginate(request, items, self.caller, default_limit=100)
        return Response([datastore.pair_to_api(item, decrypt) for item in page])


class KeyDetail(ApiView):
    def get(self, request, name):
        decrypt = query_bool(request, "decrypt")
        item = datastore.find_item(
            self.caller,
            name,
            scope=_query(request, "scope"),
            user=_query(request, "user"),
            decrypt=decrypt,
        )
        return Response(datastore.pair_to_api(item, decrypt))

    def put(self, request, name):
        item = datastore.set_item(
            self.caller, name, json_body(request), scope=_query(request, "scope")
        )
        return Response(datastore.pair_to_api(item))

    def delete(self, request, name):
        datastore.delete_item(
            self.caller, name, scope=_query(request, "scope"), user=_query(request, "user")
        )
        return Response(status=204)


urlpatterns = [
    route(r"api/v1/keys", KeyList),
    route(r"api/v1/keys/(?P<name>[^/]+)", KeyDetail),
]
