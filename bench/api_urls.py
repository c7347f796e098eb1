"""The site's URLs plus the bare view bench/api.py measures the API against: a plain Django
function returning a small JsonResponse, under the API's prefix so that it passes through
exactly the middleware the API's routes pass through. Reachable only with
bench/api_settings.py."""

from django.http import JsonResponse
from django.urls import include, path

from portal.urls import handler403, handler404, handler500  # noqa: F401 - the site's handlers

BARE_PATH = "api/v1/bench/bare"


def bare(request):
    return JsonResponse({"bare": True, "framework": "django"})


urlpatterns = [path(BARE_PATH, bare), path("", include("portal.urls"))]
