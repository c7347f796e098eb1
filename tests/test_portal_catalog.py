"""Portal catalog pages: packs, action search and the action page, through Django's test
Client, the portal reaching the embedded API of a live server over HTTP with St2Client."""

import re

import pytest

from portal.catalog import parameter_rows, search_actions

from .portal_support import ESCAPED, SCRIPT, api_as, browser


def listed_refs(page):
    return re.findall(r'<a href="/actions/([^"]+)">', page)


def test_packs_page_lists_packs_with_their_actions(alice_browser):
    page = alice_browser.get("/packs").content.decode()
    for pack in ("core", "default", "demo"):
        assert f'id="pack-{pack}"' in page
    core = page[page.index('id="pack-core"') : page.index('id="pack-default"')]
    assert {"core.local", "core.noop", "core.http", "core.echo"} <= set(listed_refs(core))
    assert "demo.deploy" in listed_refs(page[page.index('id="pack-demo"') :])


def test_actions_page_lists_every_action_without_a_query(alice_browser):
    refs = listed_refs(alice_browser.get("/actions").content.decode())
    assert {"core.local", "core.noop", "demo.deploy", "demo.greet"} <= set(refs)
    assert refs == sorted(refs)


@pytest.mark.parametrize(
    "query, expected",
    [
        ("noop", ["core.noop"]),  # name
        ("SSH sudo", ["core.remote_sudo"]),  # description, every word, any case
        (  # pack
            "demo",
            ["demo.deploy", "demo.every_type", "demo.fetch_status", "demo.greet", "demo.notes"],
        ),
        ("nothing-matches-this", []),
    ],
)
def test_search_filters_and_keeps_the_query(alice_browser, query, expected):
    response = alice_browser.get("/actions", {"q": query})
    page = response.content.decode()
    assert listed_refs(page) == expected
    assert f'name="q" value="{query}"' in page
    if not expected:
        assert "No actions match." in page


def test_search_finds_tags(alice_browser, admin_api):
    body = {
        "name": "tagged",
        "pack": "default",
        "runner_type": "noop",
        "tags": [{"name": "team", "value": "payments"}],
    }
    assert admin_api.post("/api/v1/actions", body, format="json").status_code == 201
    page = alice_browser.get("/actions?q=payments").content.decode()
    assert listed_refs(page) == ["default.tagged"]
    assert '<span class="tag">team=payments</span>' in page


def test_search_form_works_without_javascript(alice_browser):
    page = alice_browser.get("/actions").content.decode()
    assert '<form class="search" method="get" action="/actions" role="search">' in page
    assert '<label for="q">Search actions</label>' in page
    assert '<script src="/static/js/catalog.js" defer></script>' in page


def test_action_page_shows_runner_and_parameters_in_order(alice_browser, portal):
    page = alice_browser.get("/actions/demo.deploy").content.decode()
    assert "<h1>demo.deploy</h1>" in page
    assert "<code>local-shell-script</code>" in page
    assert "Pretends to deploy a version" in page
    merged = api_as("alice").action_parameters("demo.deploy")
    names = [row["name"] for row in parameter_rows(merged)]
    assert names[:2] == ["environment", "version"]  # positions 0 and 1 come first
    shown = re.findall(r'<th scope="row"><code>(\w+)</code>', page)
    assert shown == names
    token_row = page[page.index("<code>api_token</code>") :].split("</tr>")[0]
    assert '<span class="badge secret">secret</span>' in token_row
    environment_row = page[page.index("<code>environment</code>") :].split("</tr>")[0]
    assert '<span class="badge required">required</span>' in environment_row
    assert "one of: development, staging, production" in environment_row
    assert "You have not run this action yet." in page


def test_action_page_shows_the_users_recent_executions(alice_browser, portal, bob, admin_user):
    alice = api_as("alice")
    mine = [alice.launch("core.noop")["id"] for _ in range(12)]
    others = [api_as("bob").launch("core.noop")["id"], api_as("admin").launch("core.noop")["id"]]
    alice.launch("core.echo", {"message": "elsewhere"})

    page = alice_browser.get("/actions/core.noop").content.decode()
    shown = re.findall(r"<td><code>([0-9a-f]{24})</code></td>", page)
    assert shown == list(reversed(mine))[:10]  # newest first, ten at most
    assert "10 of 12 shown." in page
    assert not set(others) & set(page.split())

    admin_page = browser("admin").get("/actions/core.noop").content.decode()
    assert re.findall(r"<td><code>([0-9a-f]{24})</code></td>", admin_page) == [others[1]]


def test_unknown_action_is_404(alice_browser):
    assert alice_browser.get("/actions/core.nope").status_code == 404


def test_script_in_an_action_description_renders_inert(alice_browser, admin_api):
    body = {
        "name": "xss",
        "pack": "default",
        "runner_type": "noop",
        "description": SCRIPT,
        "tags": [{"name": SCRIPT, "value": '"><img src=x onerror=alert(1)>'}],
    }
    response = admin_api.post("/api/v1/actions", body, format="json")
    assert response.status_code == 201, response.json()
    for url in ("/packs", "/actions?q=alert", "/actions/default.xss"):
        page = alice_browser.get(url).content.decode()
        assert "default.xss" in page, url
        assert SCRIPT not in page, url
        assert "<img" not in page, url
        assert ESCAPED in page, url


# --- the pure helpers ----------------------------------------------------------------------


def test_search_matches_every_word_across_fields():
    actions = [
        {"ref": "a.one", "name": "one", "pack": "a", "description": "Restart a service"},
        {"ref": "b.two", "name": "two", "pack": "b", "tags": [{"name": "service"}]},
        {"ref": "a.three", "name": "three", "pack": "a"},
    ]
    assert [a["ref"] for a in search_actions(actions, "service")] == ["a.one", "b.two"]
    assert [a["ref"] for a in search_actions(actions, "A  RESTART")] == ["a.one"]
    assert [a["ref"] for a in search_actions(actions, "")] == ["a.one", "a.three", "b.two"]


def test_parameter_rows_mask_secret_defaults_and_show_values_as_json():
    rows = parameter_rows(
        {
            "password": {"type": "string", "secret": True, "default": "hunter2"},
            "hosts": {"type": "array", "default": ["a", "b"], "required": True},
            "flag": {"type": "boolean", "default": False},
            "first": {"type": "string", "position": 0},
        }
    )
    by_name = {row["name"]: row for row in rows}
    assert [row["name"] for row in rows] == ["first", "hosts", "flag", "password"]
    assert by_name["password"]["default"] == "********"
    assert by_name["hosts"]["default"] == '["a", "b"]'
    assert by_name["flag"]["default"] == "false" and by_name["flag"]["has_default"]
    assert not by_name["first"]["has_default"]
