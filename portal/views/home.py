"""The home page: the sign-in form for anonymous visitors; for a signed-in user, a dashboard
(running now, recent executions, recently fired rules, own keys expiring soon or just
expired, the launch templates they may run, a quick search) built from five API calls,
whatever the size of the history."""

from datetime import timedelta

from django.shortcuts import render
from django.utils import timezone

from portal.access import SESSION_TOKEN, st2_login_required
from portal.templatetags.times import as_utc
from portal.views.auth import LoginForm
from portal.views.executions import LIST_FIELDS
from portal.views.executions import _list_row as execution_row  # the history's rows
from st2bridge.constants import KEY_EXPIRY_WARNING_DAYS

RUNNING_SHOWN = 5
RECENT_SHOWN = 10
FIRED_SHOWN = 5
TEMPLATES_SHOWN = 6  # launch templates the user may run (issue 18)
KEYS_ASKED = 100  # the API's largest page: a user with more keys sees the first 100's expiries
EXPIRY_SHOWN = timedelta(days=KEY_EXPIRY_WARNING_DAYS)  # either side of now


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
        context["expiring"] = expiry_flagged(keys, timezone.now())
        context["warning_days"] = KEY_EXPIRY_WARNING_DAYS
    return render(request, "portal/dashboard.html", context)


def expiry_flagged(keys, now):
    """Enabled keys that expire within KEY_EXPIRY_WARNING_DAYS of `now` or expired as long
    ago, soonest first (each shown with its badge: portal.templatetags.keys)."""
    flagged = []
    for key in keys:
        expires = as_utc(key.get("expires_at"))
        if key.get("enabled", True) and expires and abs(expires - now) <= EXPIRY_SHOWN:
            flagged.append(key)
    return sorted(flagged, key=lambda key: key["expires_at"])
