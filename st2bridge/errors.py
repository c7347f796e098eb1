"""Errors that services raise; the API's one handler turns them into StackStorm's
{"faultstring": ...} bodies with the status named here."""


class St2Error(Exception):
    status = 400

    def __init__(self, message, *, headers=None, extra=None):
        super().__init__(message)
        self.message = message
        self.headers = headers or {}
        self.extra = extra or {}


class InvalidInput(St2Error):
    status = 400


class Unauthorized(St2Error):
    status = 401


class AccessDenied(St2Error):
    status = 403


class NotFound(St2Error):
    status = 404


class MethodNotAllowed(St2Error):
    status = 405  # DRF's Allow header names the view's methods


class Conflict(St2Error):
    status = 409

    def __init__(self, message, conflict_id):
        super().__init__(message, extra={"conflict-id": conflict_id})


class TooManyRequests(St2Error):
    status = 429

    def __init__(self, message, retry_after):
        super().__init__(message, headers={"Retry-After": str(retry_after)})
