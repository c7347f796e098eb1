"""POST /api/v1/packs/install, /uninstall and /register (st2bridge.pack_management), for
administrators. Install and uninstall answer 202 with the id of the execution that records
them, as StackStorm does. Listed in api/urls.py before /packs/{ref_or_id}, which would
otherwise take these paths for pack refs."""

from rest_framework.response import Response

from st2bridge import pack_management

from .base import ApiView, json_body, route


class Install(ApiView):
    def post(self, request):
        execution = pack_management.install(self.caller, json_body(request))
        return Response({"execution_id": execution.id}, status=202)


class Uninstall(ApiView):
    def post(self, request):
        execution = pack_management.uninstall(self.caller, json_body(request))
        return Response({"execution_id": execution.id}, status=202)


class Register(ApiView):
    def post(self, request):
        return Response(pack_management.register(self.caller, json_body(request)))


urlpatterns = [
    route(r"api/v1/packs/install", Install),
    route(r"api/v1/packs/uninstall", Uninstall),
    route(r"api/v1/packs/register", Register),
]
