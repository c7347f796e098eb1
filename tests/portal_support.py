"""Helpers for the portal's tests. The fixtures (`portal`, `alice_browser`, `bob_browser`,
`admin_browser`) are in conftest.py: the portal's St2Client pointed at a live server's embedded
API over HTTP, and Django test clients signed in through the login form.

    pytestmark = pytest.mark.django_db(transaction=True)
    def test_x(alice_browser): alice_browser.get("/packs")
"""

import html
import re

from django.test import Client

from st2bridge.client import St2Client

from .conftest import PASSWORD

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def browser(username, password=PASSWORD):
    """A Django test client signed in to the portal as `username`."""
    client = Client()
    response = client.post("/login", {"username": username, "password": password})
    assert response.status_code == 302, response.content.decode()
    return client


def api_as(username, password=PASSWORD):
    """A St2Client holding a fresh token of `username`."""
    token = St2Client.from_settings().login(username, password)["token"]
    return St2Client.from_settings(token=token)


def error_beside(page, name):
    """The error text shown beside the input named `name` (the element its aria-describedby
    names, as forms render it); None when that input is not marked invalid."""
    tag = re.search(rf'<(?:input|select|textarea)\b[^>]*\bname="{re.escape(name)}"[^>]*>', page)
    if tag is None or 'aria-invalid="true"' not in tag[0]:
        return None
    described = re.search(r'aria-describedby="([^"]*)"', tag[0])[1].split()
    error_id = next(ref for ref in described if ref.endswith("error"))
    text = re.search(rf'id="{re.escape(error_id)}">(.*?)</div>', page, re.S)[1]
    return html.unescape(re.sub(r"<br>", "\n", text)).strip()


# An array of objects whose `port` defaults to 22 (issue 14: nested defaults in rows).
TARGETS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "host": {"type": "string", "required": True},
            "port": {"type": "integer", "default": 22},
        },
    },
}


def register_action(admin_api, name, parameters):
    """Register `default.<name>`, a python-script action taking `parameters`, for a form to
    show (the tests that use it launch it but run no worker)."""
    body = {
        "name": name,
        "pack": "default",
        "runner_type": "python-script",
        "entry_point": "every_type.py",
        "parameters": parameters,
    }
    assert admin_api.post("/api/v1/actions", body, format="json").status_code == 201
