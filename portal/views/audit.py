"""The audit log (administrators): the records the API's GET /audit answers, filtered by who,
what, which object and when, paged; and the same records exported as CSV or JSON, streamed a
page at a time and at most EXPORT_MAX_ROWS of them. Read-only: no route here changes or
deletes a record."""

import csv
import io
import json
from itertools import islice

from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.access import SESSION_TOKEN, on_behalf_of, st2_login_required
from portal.paging import day_bounds, page_number, pager, window
from st2bridge.client import St2Client

# The kinds of object the action filter offers ("rule" finds every rule.* action); a whole
# action ("rule.update") may be typed too.
KINDS = ("auth", "apikey", "execution", "rule", "key", "team", "config", "template")
TEXT_FILTERS = ("user", "action", "object_id")
FILTER_CHARS = 255
EXPORT_MAX_ROWS = 10_000  # an export's bound: narrow the filters for more
EXPORT_PAGE = 500  # records asked of the API at a time
COLUMNS = ("id", "timestamp", "user", "action", "object_type", "object_id", "address")
COLUMNS += ("credential", "changes")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet would run


def audit_filters(query):
    """(shown in the form, sent to the API, {field: error})."""
    shown = {name: query.get(name, "").strip() for name in (*TEXT_FILTERS, "since", "until")}
    api = {name: shown[name] for name in TEXT_FILTERS if shown[name]}
    errors = {
        name: f"Enter at most {FILTER_CHARS} characters."
        for name in TEXT_FILTERS
        if len(shown[name]) > FILTER_CHARS
    }
    times, time_errors = day_bounds(shown)
    for name in errors:
        api.pop(name)
    return shown, {**api, **times}, {**errors, **time_errors}


def _refuse_non_admin(request):
    """403 for anyone but administrators; where the server keeps no audit log (a StackStorm
    server: no "audit" extension), the page saying so, and a 404 for the exports."""
    if not request.st2_is_admin:
        raise PermissionDenied("Only administrators may read the audit log.")
    if not request.st2_extensions.get("audit"):
        status = 200 if request.resolver_match.url_name == "audit" else 404
        return render(request, "portal/audit/unavailable.html", status=status)
    return None


@require_GET
@st2_login_required
def audit_list(request):
    refused = _refuse_non_admin(request)
    if refused:
        return refused
    shown, api_filters, errors = audit_filters(request.GET)
    page = page_number(request.GET)
    records, total = [], 0
    if not errors:
        records, total = request.st2.list_audit(**window(page), **api_filters)
    context = {
        "records": [_row(record) for record in records],
        "filters": shown,
        "errors": errors,
        "kinds": KINDS,
        "export_max": f"{EXPORT_MAX_ROWS:,}",
        **pager(total, page, shown),
    }
    return render(request, "portal/audit/list.html", context, status=400 if errors else 200)


def _row(record):
    changes = record.get("changes") or {}
    return {**record, "changes_text": json.dumps(changes, indent=2, sort_keys=True)}


EXPORT_KINDS = ("csv", "json")


@require_GET
@st2_login_required
def audit_export(request, kind):
    """The filtered records as CSV or JSON, newest first, streamed. The first page is read
    here, so that a refusal is a page of its own; the rest as the response is sent."""
    if kind not in EXPORT_KINDS:
        raise Http404("The audit log is exported as CSV or JSON.")
    refused = _refuse_non_admin(request)
    if refused:
        return refused
    shown, api_filters, errors = audit_filters(request.GET)
    if errors:
        return audit_list(request)
    first, _ = request.st2.list_audit(limit=EXPORT_PAGE, **api_filters)
    client = (request.session[SESSION_TOKEN], on_behalf_of(request))
    records = islice(_records(first, client, api_filters), EXPORT_MAX_ROWS)
    if kind == "csv":
        response = StreamingHttpResponse(_csv(records), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(_json(records), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="audit.{kind}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _records(first, client, api_filters):
    """`first`, then the older records page by page (by id, so that records written
    meanwhile neither repeat nor shift any), with a client of its own: the view's is closed
    by the time the response is sent."""
    yield from first
    if len(first) < EXPORT_PAGE:
        return
    token, behalf = client
    with St2Client.from_settings(token=token, on_behalf_of=behalf) as st2:
        before = first[-1]["id"]
        while True:
            page, _ = st2.list_audit(limit=EXPORT_PAGE, before_id=before, **api_filters)
            yield from page
            if len(page) < EXPORT_PAGE:
                return
            before = page[-1]["id"]


def _csv(records):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for record in records:
        row = {**record, "changes": json.dumps(record.get("changes") or {}, sort_keys=True)}
        writer.writerow([_cell(row.get(column, "")) for column in COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _cell(value):
    """A CSV cell a spreadsheet shows as text: a value starting like a formula (a username
    tried at sign-in is anyone's text) gets a leading apostrophe."""
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _json(records):
    yield "["
    for number, record in enumerate(records):
        yield ("," if number else "") + "\n" + json.dumps(record, sort_keys=True)
    yield "\n]\n"
