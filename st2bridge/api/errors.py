"""The one place where errors become StackStorm's {"faultstring": ...} responses."""

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from st2bridge.errors import St2Error

log = logging.getLogger(__name__)

NOT_FOUND = "The resource could not be found."


def fault(message, status, headers=None, extra=None):
    return Response({"faultstring": message, **(extra or {})}, status=status, headers=headers)


def exception_handler(exc, context):
    """DRF exception handler; anything not recognised stays a 500 and is logged by Django."""
    if isinstance(exc, St2Error):
        return fault(exc.message, exc.status, exc.headers, exc.extra)
    if isinstance(exc, drf_exceptions.NotAuthenticated):
        return fault("Unauthorized - One of Token or API key required.", 401)
    if isinstance(exc, drf_exceptions.AuthenticationFailed):
        return fault(str(exc.detail), 401)
    if isinstance(exc, drf_exceptions.PermissionDenied):
        return fault(str(exc.detail), 403)
    if isinstance(exc, Http404):
        return fault(NOT_FOUND, 404)
    if isinstance(exc, RequestDataTooBig):
        return fault("Request body is too large.", 413)
    if isinstance(exc, drf_exceptions.APIException):
        return fault(str(exc.detail), exc.status_code)
    return None


@csrf_exempt  # a JSON 404 for any method; no cookie is a credential here (only streams take one)
def api_not_found(request, *args, **kwargs):
    """Unknown routes under the API prefixes: 404 before any authentication, as StackStorm."""
    return JsonResponse({"faultstring": NOT_FOUND}, status=404)


# Django's handlers for the whole site (portal/urls.py): under the API's prefixes a faultstring,
# as StackStorm answers; elsewhere the portal's pages, templates/403.html, 404.html, 500.html.
API_PREFIXES = ("/api/", "/auth/", "/stream/")


def _for_api(request):
    return request.path.startswith(API_PREFIXES)


def page_not_found(request, exception):
    if _for_api(request):
        return JsonResponse({"faultstring": NOT_FOUND}, status=404)
    return defaults.page_not_found(request, exception)


def permission_denied(request, exception):
    if _for_api(request):
        return JsonResponse({"faultstring": str(exception) or "Forbidden."}, status=403)
    return defaults.permission_denied(request, exception)


def server_error(request):
    """Rendered without the request's context: the error may be the session's or the
    database's, so the page needs neither."""
    log.error("Internal server error on %s %s", request.method, request.path)
    if _for_api(request):
        return JsonResponse({"faultstring": "Internal Server Error"}, status=500)
    return defaults.server_error(request)
