"""/api/v1/rbac/...: StackStorm's RBAC read views over this server's teams
(st2bridge.rbac_views): roles, role assignments and permission types."""

from rest_framework.response import Response

from st2bridge import rbac_views

from .base import ApiView, query_bool, route


def _optional_bool(request, name):
    return query_bool(request, name) if request.query_params.get(name) else None


class RoleList(ApiView):
    def get(self, request):
        found = rbac_views.roles(
            self.caller,
            name=request.query_params.get("name") or None,
            system=_optional_bool(request, "system"),
        )
        return Response(found)


class RoleDetail(ApiView):
    def get(self, request, name_or_id):
        return Response(rbac_views.find_role(self.caller, name_or_id))


class RoleAssignmentList(ApiView):
    def get(self, request):
        params = request.query_params
        found = rbac_views.role_assignments(
            self.caller,
            user=params.get("user") or None,
            role=params.get("role") or None,
            source=params.get("source") or None,
            remote=_optional_bool(request, "remote"),
        )
        return Response(found)


class RoleAssignmentDetail(ApiView):
    def get(self, request, assignment_id):
        return Response(rbac_views.find_role_assignment(self.caller, assignment_id))


class PermissionTypeList(ApiView):
    def get(self, request):
        return Response(rbac_views.permission_types(self.caller))


class PermissionTypeDetail(ApiView):
    def get(self, request, resource_type):
        return Response(rbac_views.permission_types(self.caller, resource_type))


urlpatterns = [
    route(r"api/v1/rbac/roles", RoleList),
    route(r"api/v1/rbac/roles/(?P<name_or_id>[^/]+)", RoleDetail),
    route(r"api/v1/rbac/role_assignments", RoleAssignmentList),
    route(r"api/v1/rbac/role_assignments/(?P<assignment_id>[^/]+)", RoleAssignmentDetail),
    route(r"api/v1/rbac/permission_types", PermissionTypeList),
    route(r"api/v1/rbac/permission_types/(?P<resource_type>[^/]+)", PermissionTypeDetail),
]
