"""/api/v1/apikeys (notes §2.4)."""

from rest_framework.response import Response

from st2bridge import access, apikeys
from st2bridge.apikeys import key_to_api, new_key_to_api
from st2bridge.shapes import API_KEY

from .base import ApiView, json_body, list_response, query_filters, route, show_secrets


class ApiKeyList(ApiView):
    def get(self, request):
        keys = access.visible_api_keys(self.caller).filter(
            **query_filters(request, {"user": "user__username"})
        )
        keys = apikeys.with_metadata(keys, request.query_params.get("metadata"))
        unmasked = show_secrets(request, self.caller)
        return list_response(
            request,
            keys,
            self.caller,
            lambda key: key_to_api(key, unmasked),
            API_KEY,
            default_limit=50,
            int_spelled="32 bit",  # StackStorm's /apikeys spells it so
        )

    def post(self, request):
        api_key, raw = apikeys.create_key(self.caller, json_body(request))
        return Response(new_key_to_api(api_key, raw), status=201)


class ApiKeyDetail(ApiView):
    def get(self, request, id_or_key):
        api_key = apikeys.find_key(self.caller, id_or_key)
        return Response(key_to_api(api_key, show_secrets(request, self.caller)))

    def put(self, request, id_or_key):
        api_key = apikeys.find_key(self.caller, id_or_key)
        api_key = apikeys.update_key(self.caller, api_key, json_body(request))
        return Response(key_to_api(api_key, show_secrets(request, self.caller)))

    def delete(self, request, id_or_key):
        apikeys.delete_key(self.caller, apikeys.find_key(self.caller, id_or_key))
        return Response(status=204)


urlpatterns = [
    route(r"api/v1/apikeys", ApiKeyList),
    route(r"api/v1/apikeys/(?P<id_or_key>[^/]+)", ApiKeyDetail),
]
