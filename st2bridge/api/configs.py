"""/api/v1/configs and /api/v1/config_schemas (notes §9): pack configs and their schemas,
as StackStorm answers them (st2bridge.configs)."""

from rest_framework.response import Response

from st2bridge import configs

from .base import ApiView, json_body, paginate, route, show_secrets


class ConfigList(ApiView):
    def get(self, request):
        unmasked = show_secrets(request, self.caller)
        page, headers = paginate(
            request, configs.visible_configs(self.caller), self.caller, default_limit=100
        )
        schemas = {} if unmasked else configs.schemas_by_pack([c.pack for c in page])
        body = [configs.config_to_api(c, unmasked, schemas.get(c.pack, {})) for c in page]
        return Response(body, headers=headers)


class ConfigDetail(ApiView):
    def get(self, request, pack):
        config = configs.find_config(self.caller, pack)
        return Response(configs.config_to_api(config, show_secrets(request, self.caller)))

    def put(self, request, pack):
        config = configs.set_config(self.caller, pack, json_body(request))
        return Response(configs.config_to_api(config, show_secrets(request, self.caller)))


class ConfigSchemaList(ApiView):
    def get(self, request):
        schemas = configs.visible_schemas(self.caller)
        page, headers = paginate(request, schemas, self.caller, default_limit=100)
        return Response([configs.schema_to_api(schema) for schema in page], headers=headers)


class ConfigSchemaDetail(ApiView):
    def get(self, request, pack):
        return Response(configs.schema_to_api(configs.find_schema(self.caller, pack)))


urlpatterns = [
    route(r"api/v1/configs", ConfigList),
    route(r"api/v1/configs/(?P<pack>[^/]+)", ConfigDetail),
    route(r"api/v1/config_schemas", ConfigSchemaList),
    route(r"api/v1/config_schemas/(?P<pack>[^/]+)", ConfigSchemaDetail),
]
