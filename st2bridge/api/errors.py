"""The one place where errors become StackStorm's {"faultstring": ...} responses."""

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
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


def server_error(request):
    log.error("Internal server error on %s %s", request.method, request.path)
    if request.path.startswith(("/api/", "/auth/", "/stream/")):
        return JsonResponse({"faultstring": "Internal Server Error"}, status=500)
    from django.views.defaults import server_error as html_server_error

    return html_server_error(request)
