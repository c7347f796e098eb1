"""Pack configs at run time (issue 15): a Python action gets its pack's merged config as
self.config (stored values, `{{ st2kv... }}` rendered for the execution's user, schema
defaults), parameter templates see it as `config_context` and the execution's context as
`action_context`; the config's secrets are masked in parameters, output and results."""

import pytest

from st2bridge import executions
from st2bridge.constants import MASK
from st2bridge.models import Execution

from .action_support import put_key
from .config_support import VALUES, register_with, write_config_pack
from .worker_support import run_to_completion

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pack(shared_tmp):
    pack = write_config_pack(shared_tmp / "packs")
    register_with(pack)
    return pack


def configure(api, values):
    response = api.put("/api/v1/configs/cfg", values, format="json")
    assert response.status_code == 200, response.json()


def launch(api, action, headers=None, **parameters):
    body = {"action": action, "parameters": parameters}
    return api.post("/api/v1/executions", body, format="json", headers=headers or {})


def launched(api, action, **parameters):
    response = launch(api, action, **parameters)
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_python_action_gets_the_merged_config(pack, admin_api, alice_api):
    put_key("system", "svc_password", "pw-from-kv", secret=True)
    put_key("user", "login", "alice-login", owner="alice")
    configure(
        admin_api,
        {
            **VALUES,
            # secret items decrypt without decrypt_kv; st2kv.user is the execution's user's
            "auth": {
                "username": "{{ st2kv.user.login }}",
                "password": "{{ st2kv.system.svc_password }}",
            },
        },
    )
    done = run_to_completion(launched(alice_api, "cfg.show_config")["id"])
    assert done.status == "succeeded", done.result
    config = done.result["result"]["config"]
    assert config == {
        "api_url": "https://api.example",  # the schema's defaults for what is not set
        "api_token": MASK,  # the config's secrets are scrubbed from the result ...
        "port": 8443,
        "region": "eu",
        "verbose": False,
        "auth": {"username": "alice-login", "password": MASK, "timeout": 30},
        "accounts": [
            {"name": "first", "password": MASK, "port": 465},
            {"name": "second", "port": 465},
        ],
    }
    # ... but the action had them in plaintext
    assert done.result["result"]["token_reversed"] == "tok-s3cret-1"[::-1]
    assert done.result["stdout"] == f"token: {MASK}\n"
    assert "tok-s3cret-1" not in executions.output_text(done)


def test_without_a_config_the_action_gets_the_schema_defaults(pack, alice_api):
    done = run_to_completion(launched(alice_api, "cfg.show_config")["id"])
    assert done.status == "succeeded", done.result
    assert done.result["result"]["config"] == {
        "api_url": "https://api.example",
        "port": 443,
        "region": "eu",
        "verbose": False,
    }


def test_a_config_template_that_fails_fails_the_execution_naming_the_key(pack, admin_api):
    configure(admin_api, {**VALUES, "api_url": "{{ 1 / 0 }}"})
    done = run_to_completion(launched(admin_api, "cfg.show_config")["id"])
    assert done.status == "failed"
    assert done.result == {
        "error": 'Failed to render dynamic configuration value for key "api_url" with value '
        '"{{ 1 / 0 }}" for pack "cfg" config: Failed to render parameter "api_url": '
        "division by zero"
    }


def test_config_context_and_action_context_in_parameter_defaults(pack, admin_api, alice_api):
    configure(admin_api, VALUES)
    execution = launched(alice_api, "cfg.contexts")
    assert execution["parameters"] == {
        "url": "https://api.example/v1",
        "token": MASK,
        "who": "alice in cfg",
        "requester": "None",  # no api_user: |default(None) renders, as in StackStorm
    }
    stored = executions.stored_parameters(Execution.objects.get(pk=execution["id"]))
    assert stored["token"] == "tok-s3cret-1"  # the runner gets the secret


def test_action_context_in_a_given_value_renders(pack, admin_api, alice_api):
    """Before issue 15: 400 "Dependency unsatisfied in variable action_context"."""
    configure(admin_api, VALUES)
    execution = launched(alice_api, "cfg.contexts", note="{{ action_context.user }}")
    assert execution["parameters"]["note"] == "alice"


def test_api_user_comes_from_an_administrators_context_only(pack, admin_api, alice_api):
    configure(admin_api, VALUES)
    header = {"St2-Context": '{"api_user": "chat-carol"}'}
    by_admin = launch(admin_api, "cfg.contexts", headers=header).json()
    assert by_admin["parameters"]["requester"] == "chat-carol"
    assert by_admin["context"]["api_user"] == "chat-carol"
    by_member = launch(alice_api, "cfg.contexts", headers=header).json()
    assert by_member["parameters"]["requester"] == "None"
    assert "api_user" not in by_member["context"]


def test_a_members_own_template_sees_the_config_secrets_masked(pack, admin_api, alice_api):
    configure(admin_api, VALUES)
    member = launched(alice_api, "cfg.contexts", note="{{ config_context.api_token }}!")
    stored = executions.stored_parameters(Execution.objects.get(pk=member["id"]))
    assert stored["note"] == f"{MASK}!"
    admin = launched(admin_api, "cfg.contexts", note="{{ config_context.api_token }}!")
    assert admin["parameters"]["note"] == f"{MASK}!"  # shown masked ...
    stored = executions.stored_parameters(Execution.objects.get(pk=admin["id"]))
    assert stored["note"] == "tok-s3cret-1!"  # ... kept encrypted, for the runner
