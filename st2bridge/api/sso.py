"""GET /auth/v1/sso: whether single sign-on is enabled. It is not here (sign-in is the
portal's and POST /auth/v1/tokens'), and StackStorm answers the same when it is not; st2web
asks before showing its login form. The SSO request and callback routes are not served."""

from rest_framework.response import Response

from .base import ApiView, route


class SingleSignOn(ApiView):
    authentication_classes = []
    permission_classes = []

    def get(self, request):
        return Response({"enabled": False})


urlpatterns = [route(r"auth/(?:v1/)?sso", SingleSignOn)]  # st2auth serves /sso too
