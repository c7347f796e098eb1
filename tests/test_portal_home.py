"""The home page (issue 14 defect 9): the sign-in form for anonymous visitors; for a signed-in
user, a dashboard of what runs now, recent executions, recently fired rules, their own keys
that expire soon and a quick search, built from a fixed number of API calls."""

import re
from datetime import timedelta

import pytest
import requests
from django.test import Client
from django.utils import timezone

from st2bridge.client import St2Client
from st2bridge.models import Execution

from .conftest import PASSWORD
from .portal_support import api_as, browser

pytestmark = pytest.mark.django_db(transaction=True)


def section(page, title_id):
    """The HTML of the dashboard's <section> labelled by `title_id`."""
    found = re.search(rf'<section[^>]*aria-labelledby="{title_id}".*?</section>', page, re.S)
    assert found, title_id
    return found[0]


@pytest.fixture
def calls(monkeypatch):
    """The API requests the portal's client makes (the real ones, counted)."""
    made = []
    request = St2Client._request

    def counted(client, method, url, **kwargs):
        path = url.split("/v1", 1)[-1]
        if path != "/extensions":  # asked once per process and kept (portal/access.py)
            made.append(f"{method} {path}")
        return request(client, method, url, **kwargs)

    monkeypatch.setattr(St2Client, "_request", counted)
    return made


def test_anonymous_visitors_get_the_sign_in_form_on_the_home_page(portal, alice):
    anonymous = Client()
    page = anonymous.get("/").content.decode()
    assert '<form class="card card-body shadow-sm" method="post" action="/login"' in page
    assert 'name="username"' in page and 'type="password"' in page
    assert 'name="next" value="/"' in page
    assert "Dashboard" not in page
    signed_in = anonymous.post("/login", {"username": "alice", "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/"
    assert "Dashboard" in anonymous.get("/").content.decode()


def test_the_dashboard_shows_running_recent_fired_and_expiring(portal, alice):
    alice_api = api_as("alice")
    first = alice_api.launch("core.local", {"cmd": "echo one"})
    running = alice_api.launch("core.local", {"cmd": "sleep 9"})
    Execution.objects.filter(id=running["id"]).update(status="running")
    alice_api.create_rule(
        {
            "name": "on_push",
            "pack": "default",
            "enabled": True,
            "trigger": {"type": "core.st2.webhook", "parameters": {"url": "push"}},
            "action": {"ref": "core.local", "parameters": {"cmd": "echo pushed"}},
        }
    )
    hook = requests.post(
        f"{portal.url}/api/v1/webhooks/push",
        json={"ref": "main"},
        headers={"X-Auth-Token": alice_api.session.headers["X-Auth-Token"]},
        timeout=10,
    )
    assert hook.status_code == 202
    soon = timezone.now() + timedelta(days=3)
    later = timezone.now() + timedelta(days=60)
    alice_api.create_api_key({"name": "nightly"}, soon.isoformat())
    alice_api.create_api_key({"name": "yearly"}, later.isoformat())
    disabled = alice_api.create_api_key({"name": "switched-off"}, soon.isoformat())
    alice_api.update_api_key(disabled["id"], enabled=False)

    page = browser("alice").get("/").content.decode()
    assert "Dashboard" in page
    now = section(page, "running-title")
    assert f"/executions/{running['id']}" in now and f"/executions/{first['id']}" not in now
    recent = section(page, "recent-title")
    assert f"/executions/{first['id']}" in recent and f"/executions/{running['id']}" in recent
    assert 'href="/rules/default.on_push"' in section(page, "fired-title")
    keys = section(page, "keys-title")
    assert "nightly" in keys and soon.strftime("%Y-%m-%d %H:%M:%S UTC") in keys
    assert "yearly" not in keys and "switched-off" not in keys


def test_the_quick_search_goes_to_the_actions_page(alice_browser):
    page = alice_browser.get("/").content.decode()
    search = re.search(r'<form class="quick-search[^>]*>.*?</form>', page, re.S)[0]
    assert 'action="/actions"' in search and 'method="get"' in search and 'name="q"' in search
    assert "demo.greet" in alice_browser.get("/actions?q=greet").content.decode()


def test_the_dashboard_costs_the_same_api_calls_whatever_the_history(portal, alice, calls):
    alice_api = api_as("alice")
    client = browser("alice")
    alice_api.launch("core.local", {"cmd": "echo 1"})
    calls.clear()
    assert client.get("/").status_code == 200
    few = list(calls)
    for number in range(30):
        alice_api.launch("core.local", {"cmd": f"echo {number}"})
    calls.clear()
    assert client.get("/").status_code == 200
    assert calls == few
    assert len(calls) == 5, calls  # the fifth: the launch templates the user may run
