"""Remote mode (issue 5, item 8): the portal in front of another StackStorm-compatible server.
The remote is a second instance of this project (tests/live_site.py: gunicorn, a worker and
its own database) on another port; the portal under test is this test's Django, with
ST2_AUTH_URL / ST2_API_URL / ST2_STREAM_URL pointing there. Its own database holds sessions
only: the users, executions and keys it shows all live on the remote.

A StackStorm server offers none of this project's extensions (key expiry, the metadata filter,
teams, token revocation): `stackstorm_like` puts a proxy in front of the remote that answers
404 to them, as StackStorm does, and the portal must show them as unavailable."""

import re
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode

import pytest
import requests
from django.utils import timezone

from portal import catalog
from st2bridge.models import ApiKey, Execution

from .live_site import ADMIN, PASSWORD, LiveSite
from .portal_support import browser

pytestmark = pytest.mark.django_db(transaction=True)

CAROL_PASSWORD = "carol-password-not-secret-456"  # noqa: S105 - a test user's password
EXTENSIONS = (
    "/api/v1/extensions",
    "/auth/v1/tokens/revoke",
    "/api/v1/packs/views/action_counts",
)
OUR_FILTERS = {"q"}  # StackStorm ignores query parameters it does not know


@pytest.fixture(scope="module")
def remote():
    with LiveSite() as site:
        site.manage(
            "shell",
            "-c",
            "from django.contrib.auth.models import User; "
            f"User.objects.create_user('carol', password='{CAROL_PASSWORD}')",
        )
        yield site


class StackStormLike(BaseHTTPRequestHandler):
    """Forwards everything to the remote but its extensions, which answer 404, and without
    the query parameters only it knows."""

    remote_url = None

    def _forward(self):
        if self.path.split("?")[0] in EXTENSIONS:
            self._answer(404, b'{"faultstring": "Not Found"}', {"Content-Type": "application/json"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        path, _, query = self.path.partition("?")
        kept_query = [(k, v) for k, v in parse_qsl(query) if k not in OUR_FILTERS]
        answer = requests.request(
            self.command,
            f"{self.remote_url}{path}?{urlencode(kept_query)}",
            headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
            data=self.rfile.read(length) if length else None,
            timeout=30,
        )
        kept = ("Content-Type", "X-Total-Count", "Retry-After")
        self._answer(
            answer.status_code,
            answer.content,
            {k: answer.headers[k] for k in kept if k in answer.headers},
        )

    def _answer(self, status, body, headers):
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _forward

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def stackstorm_like(remote):
    handler = type("Handler", (StackStormLike,), {"remote_url": remote.url})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def point_portal_at(settings, base_url):
    settings.ST2_AUTH_URL = f"{base_url}/auth/v1"
    settings.ST2_API_URL = f"{base_url}/api/v1"
    settings.ST2_STREAM_URL = f"{base_url}/stream/v1"


@pytest.fixture
def via_remote(remote, settings):
    point_portal_at(settings, remote.url)
    return remote


@pytest.fixture
def via_stackstorm_like(stackstorm_like, settings):
    point_portal_at(settings, stackstorm_like)
    return stackstorm_like


def remote_get(remote, path, **headers):
    headers = headers or {"X-Auth-Token": remote.token()}
    return requests.get(f"{remote.url}{path}", headers=headers, timeout=10)


def new_key_in(page):
    return re.search(r'id="new-key-value"[^>]*value="([^"]+)"', page)[1]


def test_sign_in_launch_and_follow_an_execution_on_the_remote(via_remote):
    carol = browser("carol", CAROL_PASSWORD)  # a user only the remote knows
    assert "core.local" in carol.get("/actions?q=local").content.decode()
    form = carol.get("/actions/core.local").content.decode()
    assert f"curl -X POST {via_remote.url}/api/v1/executions" in form  # the remote's API
    launched = carol.post("/actions/core.local", {"cmd": "echo ran on the remote"})
    assert launched.status_code == 302
    execution_id = launched["Location"].rsplit("/", 1)[1]
    deadline = time.monotonic() + 60
    while "succeeded" not in (page := carol.get(launched["Location"]).content.decode()):
        assert time.monotonic() < deadline, "the remote's worker did not finish it"
        time.sleep(0.5)
    assert "ran on the remote" in page
    on_remote = remote_get(via_remote, f"/api/v1/executions/{execution_id}").json()
    assert on_remote["context"]["user"] == "carol"
    assert not Execution.objects.exists()  # nothing in the portal's own database


def test_history_finds_part_of_an_action_ref_only_where_the_server_can(
    via_remote, stackstorm_like, settings
):
    carol = browser("carol", CAROL_PASSWORD)
    launched = requests.post(
        f"{via_remote.url}/api/v1/executions",
        json={"action": "core.noop"},
        headers={"X-Auth-Token": carol.session["st2_token"]},
        timeout=10,
    ).json()["id"]
    page = carol.get("/executions?action=noop").content.decode()
    assert f'href="/executions/{launched}"' in page and "finds core.local" in page
    point_portal_at(settings, stackstorm_like)  # StackStorm's `action` filter: the whole ref
    page = carol.get("/executions?action=noop").content.decode()
    assert f'href="/executions/{launched}"' not in page and "does not match parts" in page
    assert (
        f'href="/executions/{launched}"'
        in carol.get("/executions?action=core.noop").content.decode()
    )


def test_api_keys_are_made_and_revoked_on_the_remote(via_remote):
    carol = browser("carol", CAROL_PASSWORD)
    expires = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    created = carol.post("/apikeys", {"name": "nightly", "expires_at": expires}, follow=True)
    assert created.redirect_chain == [("/apikeys#new-key", 302)]
    key = new_key_in(created.content.decode())
    assert (
        remote_get(via_remote, "/api/v1/user", **{"St2-Api-Key": key}).json()["username"] == "carol"
    )
    listed = remote_get(via_remote, "/api/v1/apikeys?user=carol").json()
    assert listed[0]["expires_at"].startswith(expires[:10])
    assert not ApiKey.objects.exists()

    admin = browser(ADMIN, PASSWORD)
    assert "nightly" in admin.get("/manage/apikeys?metadata=name:nightly").content.decode()
    admin.post(f"/apikeys/{listed[0]['id']}/disable", {"next": "/manage/apikeys"})
    assert remote_get(via_remote, "/api/v1/user", **{"St2-Api-Key": key}).status_code == 401


def test_teams_are_the_remotes_managed_through_its_api_and_log_out_ends_the_token(via_remote):
    admin = browser(ADMIN, PASSWORD)
    assert 'href="/teams">Teams</a>' in admin.get("/packs").content.decode()
    created = admin.post("/teams", {"name": "remote-ops"})
    assert created.status_code == 302, created.content.decode()
    team_path = created["Location"]
    assert admin.post(f"{team_path}/members", {"username": "carol"}).status_code == 302
    assert admin.post(f"{team_path}/grant", {"grant": ["pack:demo"]}).status_code == 302
    [team] = remote_get(via_remote, "/api/v1/teams?name=remote-ops").json()
    assert (team["members"], team["packs"]) == (["carol"], ["demo"])
    carol = browser("carol", CAROL_PASSWORD)
    assert "remote-ops" in carol.get("/teams").content.decode()
    actions = carol.get("/actions").content.decode()
    assert "demo.greet" in actions and "core.local" not in actions
    assert admin.post(f"{team_path}/delete").status_code == 302  # carol gets everything back
    assert remote_get(via_remote, "/api/v1/teams?name=remote-ops").json() == []
    token = admin.session["st2_token"]
    assert remote_get(via_remote, "/api/v1/user", **{"X-Auth-Token": token}).status_code == 200
    admin.post("/logout")
    assert remote_get(via_remote, "/api/v1/user", **{"X-Auth-Token": token}).status_code == 401


def test_what_a_stackstorm_server_cannot_do_is_shown_unavailable(via_stackstorm_like, remote):
    carol = browser("carol", CAROL_PASSWORD)
    page = carol.get("/apikeys").content.decode()
    assert "Expiry: not available with this StackStorm server" in page
    assert 'name="expires_at"' not in page
    created = carol.post("/apikeys", {"name": "plain"}, follow=True)
    assert created.redirect_chain == [("/apikeys#new-key", 302)]
    key = new_key_in(created.content.decode())
    assert remote_get(remote, "/api/v1/user", **{"St2-Api-Key": key}).status_code == 200

    admin = browser(ADMIN, PASSWORD)
    keys = admin.get("/manage/apikeys?metadata=name:nothing-has-this").content.decode()
    assert "Not available with this StackStorm server." in keys
    assert "plain" in keys  # the filter was not applied, and says so
    teams = admin.get("/teams")
    assert teams.status_code == 200
    assert "Teams are managed by this StackStorm's RBAC." in teams.content.decode()
    refused = admin.post("/teams", {"name": "nowhere"})  # the same page; nothing is asked
    assert refused.status_code == 200 and "managed by this StackStorm" in refused.content.decode()
    for path in ("/teams/1", "/teams/access", "/teams/1/delete"):
        response = admin.get(path)
        assert response.status_code == 404, path
        assert "managed by this StackStorm" in response.content.decode()
    token = admin.session["st2_token"]
    assert admin.post("/logout").status_code == 302  # signed out of the portal all the same
    assert remote_get(remote, "/api/v1/user", **{"X-Auth-Token": token}).status_code == 200


def listed_refs(page):
    return re.findall(r'<a href="/actions/([^"]+)">', page)


def test_catalog_in_front_of_a_stackstorm_server_searches_and_counts_itself(
    via_stackstorm_like, remote
):
    carol = browser("carol", CAROL_PASSWORD)
    assert listed_refs(carol.get("/actions?q=noop").content.decode()) == ["core.noop"]
    found = carol.get("/actions?q=sudo+core").content.decode()
    assert listed_refs(found) == ["core.local_sudo", "core.remote_sudo"]
    assert "This StackStorm server cannot search" not in found  # all of it was read
    core = remote_get(remote, "/api/v1/actions?pack=core&limit=1")
    count = int(core.headers["X-Total-Count"])
    packs = carol.get("/packs").content.decode()
    assert f'<a href="/actions?pack=core">{count} actions<span' in packs


def test_search_without_the_server_reads_a_bounded_part_of_the_catalog(
    via_stackstorm_like, remote, monkeypatch
):
    monkeypatch.setattr(catalog, "SEARCH_SCAN_LIMIT", 3)
    total = int(remote_get(remote, "/api/v1/actions?limit=1").headers["X-Total-Count"])
    page = browser("carol", CAROL_PASSWORD).get("/actions?q=core").content.decode()
    assert len(listed_refs(page)) <= 3
    assert f"only the first 3 of its {total} actions were searched" in page
