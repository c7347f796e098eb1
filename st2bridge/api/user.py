"""GET /api/v1 and /api/v1/user: version, and who is calling in the shape `st2 whoami` reads."""

from rest_framework.response import Response

from .base import ApiView, route

API_VERSION = "3.9.0"


class Root(ApiView):
    def get(self, request):
        return Response({"version": API_VERSION, "docs_url": "https://docs.stackstorm.com/3.9"})


class CurrentUser(ApiView):
    def get(self, request):
        caller = self.caller
        authentication = {"method": caller.method, "location": caller.location}
        if caller.token is not None:
            authentication["token_expire"] = caller.token.expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
        return Response(
            {
                "username": caller.username,
                "authentication": authentication,
                "rbac": {
                    "enabled": False,
                    "roles": ["admin"] if caller.is_admin else [],
                    "is_admin": caller.is_admin,
                },
            }
        )


urlpatterns = [
    route(r"api/v1", Root),
    route(r"api/v1/user", CurrentUser),
]
