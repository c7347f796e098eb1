"""The home page: the sign-in form for anonymous visitors; for a signed-in user, a dashboard
(running now, recent executions, recently fired rules, own keys expiring soon, the launch
templates they may run, a quick search) built from five API calls, whatever the size of the
history."""

from datetime import timedelta

from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from portal.access import SESSION_TOKEN, st2_login_required
from portal.views.auth import LoginForm
from portal.views.executions import LIST_FIELDS
from portal.views.executions import _list_row as execution_row  # the history's rows

RUNNING_SHOWN = 5
RECENT_SHOWN = 10
FIRED_SHOWN = 5
TEMPLATES_SHOWN = 6  # launch templates the user may run (issue 18)
KEYS_ASKED = 100  # the API's largest page: a user with more keys sees the first 100's expiries
EXPIRING_WITHIN = timedelta(days=14)


def index(request):
    if not request.session.get(SESSION_TOKEN):
        return render(request, "portal/home.html", {"form": LoginForm(), "next": "/"})
    return dashboard(request)


@st2_login_required
def dashboard(request):
    st2 = request.st2
    running, running_total = st2.list_executions(
        limit=RUNNING_SHOWN, status="running", include_attributes=LIST_FIELDS
    )
    recent, _ = st2.list_executions(limit=RECENT_SHOWN, include_attributes=LIST_FIELDS)
    context = {
        "running": [execution_row(execution) for execution in running],
        "running_total": running_total,
        "recent": [execution_row(execution) for execution in recent],
        "fired": st2.list_enforcements(limit=FIRED_SHOWN),
        "expiry_available": bool(request.st2_extensions.get("apikey_expiry")),
    }
    if request.st2_extensions.get("templates"):
        context["templates"], context["templates_total"] = st2.list_templates(limit=TEMPLATES_SHOWN)
    if context["expiry_available"]:
        keys, _ = st2.list_api_keys(user=request.st2_user, limit=KEYS_ASKED)
        context["expiring"] = expiring_soon(keys, timezone.now())
    return render(request, "portal/dashboard.html", context)


def expiring_soon(keys, now):
    """Enabled keys that expire within EXPIRING_WITHIN of `now` and have not yet, soonest first."""
    soon = []
    for key in keys:
        expires = parse_datetime(key.get("expires_at") or "")
        if key.get("enabled", True) and expires and now < expires <= now + EXPIRING_WITHIN:
            soon.append(key)
    return sorted(soon, key=lambda key: key["expires_at"])
