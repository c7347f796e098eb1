"""An action's process reaches the API as its execution's user (issue 15): the worker gives it
ST2_ACTION_API_URL and ST2_ACTION_AUTH_TOKEN, a token of that user which is scrubbed from
the output and refused once the action ended."""

import json

import pytest

from st2bridge.models import Token

from .catalog_support import register_bundled_packs
from .worker_support import run_to_completion

pytestmark = pytest.mark.django_db(transaction=True)

CALL_BACK = (
    'python3 -c "import os, urllib.request as r; '
    "q = r.Request(os.environ['ST2_ACTION_API_URL'] + '/user', "
    "headers={'X-Auth-Token': os.environ['ST2_ACTION_AUTH_TOKEN']}); "
    'print(r.urlopen(q).read().decode())"; '
    'echo "$ST2_ACTION_AUTH_TOKEN"; echo "$ST2_ACTION_AUTH_TOKEN" > {path}'
)


def test_the_action_token_is_its_users_and_ends_with_it(
    live_server, settings, shared_tmp, alice_api, anon_api
):
    settings.ST2_ACTION_API_URL = f"{live_server.url}/api/v1"
    register_bundled_packs()
    path = shared_tmp / "token"
    body = {"action": "core.local", "parameters": {"cmd": CALL_BACK.replace("{path}", str(path))}}
    execution = alice_api.post("/api/v1/executions", body, format="json").json()
    done = run_to_completion(execution["id"])
    assert done.status == "succeeded", done.result
    who, token_line = done.result["stdout"].splitlines()
    assert json.loads(who)["username"] == "alice"
    assert token_line == "********"  # never in the output
    token = path.read_text().strip()
    assert len(token) == 32
    assert anon_api.get("/api/v1/user", HTTP_X_AUTH_TOKEN=token).status_code == 401
    assert not Token.objects.filter(metadata__service="action").exists()
