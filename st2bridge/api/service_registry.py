"""/api/v1/service_registry/groups[/{group_id}/members]: this server's processes
(st2bridge.service_registry), for administrators."""

from rest_framework.response import Response

from st2bridge import service_registry

from .base import ApiView, route


class Groups(ApiView):
    def get(self, request):
        return Response(service_registry.groups(self.caller))


class Members(ApiView):
    def get(self, request, group_id):
        return Response(service_registry.members(self.caller, group_id))


urlpatterns = [
    route(r"api/v1/service_registry/groups", Groups),
    route(r"api/v1/service_registry/groups/(?P<group_id>[^/]+)/members", Members),
]
