"""GET /api/v1 and /api/v1/user: version, and who is calling in the shape `st2 whoami` reads;
GET /api/v1/extensions: what this server offers beyond StackStorm's API, so that a portal in
front of it can tell (a StackStorm server answers 404 there, and offers none of them)."""

from django.urls import reverse
from rest_framework.response import Response

from st2bridge import auth

from .base import ApiView, route

API_VERSION = "3.9.0"


class Root(ApiView):
    def get(self, request):
        return Response({"version": API_VERSION, "docs_url": "https://docs.stackstorm.com/3.9"})


class CurrentUser(ApiView):
    def get(self, request):
        return Response(auth.caller_to_api(self.caller))


class Extensions(ApiView):
    def get(self, request):
        return Response(
            {
                "server": "st2bridge",
                "action_search": True,  # GET /actions?q=words (ref, description, tags)
                "pack_action_counts": True,  # GET /packs/views/action_counts?pack=a,b
                "apikey_expiry": True,  # POST /apikeys takes expires_at
                "apikey_metadata_filter": True,  # GET /apikeys?metadata=name:value
                "token_revocation": True,  # POST /auth/v1/tokens/revoke
                "pack_problems": True,  # GET /packs/views/problems (admins)
                "runner_support": True,  # actions say `unsupported` when they cannot run
                "rule_warnings": True,  # rules say `warnings` (missing trigger type, action)
                "execution_action_contains": True,  # GET /executions?action_contains=text
                "teams_admin_path": reverse("admin:auth_group_changelist"),  # on this host
                "teams": True,  # /teams, /useraccess and /grantables (st2bridge/api/teams.py)
                "audit": True,  # GET /audit, the audit log (st2bridge/api/audit.py)
                "templates": True,  # /templates: launch templates (st2bridge/api/templates.py)
                "execution_template_filter": True,  # GET /executions?template=ref
            }
        )


urlpatterns = [
    route(r"api/v1", Root),
    route(r"api/v1/user", CurrentUser),
    route(r"api/v1/extensions", Extensions),
]
