"""Conventions every API response follows, applied before any view runs."""

import re
import uuid

from django.conf import settings
from django.http import HttpResponse, JsonResponse

API_PREFIXES = ("/api/", "/auth/", "/stream/")
SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Echo a sane X-Request-ID, or make one, on every response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request.request_id = given if SAFE_REQUEST_ID.match(given) else str(uuid.uuid4())
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


class ApiGuardMiddleware:
    """OPTIONS answered without authentication; oversized bodies refused before reading;
    NUL characters refused in the path and query (no database stores them in text)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PREFIXES):
            if request.method == "OPTIONS":
                return HttpResponse(status=200)
            limit = settings.ST2_MAX_BODY_BYTES
            if _declared_length(request) > limit:
                message = f"Request body is larger than {limit} bytes."
                return JsonResponse({"faultstring": message}, status=413)
            if "\x00" in request.path or any("\x00" in value for value in request.GET.values()):
                return JsonResponse(
                    {"faultstring": "NUL characters are not allowed in URLs."}, status=400
                )
        return self.get_response(request)


def _declared_length(request):
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
