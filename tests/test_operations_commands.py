"""The operators' commands of OPERATIONS.md: datastore key rotation and revoking a user."""

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command

from st2bridge import datastore
from st2bridge.models import ApiKey, ConfigSchema, Execution, KeyValuePair, Token

from .catalog_support import register_bundled_packs
from .conftest import login

pytestmark = pytest.mark.django_db


def test_rotation_re_encrypts_secrets_so_the_old_key_can_go(settings, admin_api):
    old, new = settings.ST2_DATASTORE_KEY, Fernet.generate_key().decode()
    response = admin_api.put(
        "/api/v1/keys/db_password",
        {"name": "db_password", "value": "s3cr3t", "secret": True},
        format="json",
    )
    assert response.status_code == 200, response.content
    settings.ST2_DATASTORE_KEY = f"{new},{old}"
    call_command("rotate_datastore_key")
    settings.ST2_DATASTORE_KEY = new
    item = KeyValuePair.objects.get(name="db_password")
    assert datastore.decrypt(item.value) == "s3cr3t"
    response = admin_api.get("/api/v1/keys/db_password?decrypt=true")
    assert response.json()["value"] == "s3cr3t"


def test_without_rotation_the_old_key_is_still_needed(settings, admin_api):
    admin_api.put("/api/v1/keys/k", {"name": "k", "value": "v", "secret": True}, format="json")
    settings.ST2_DATASTORE_KEY = Fernet.generate_key().decode()
    with pytest.raises(InvalidToken):
        datastore.decrypt(KeyValuePair.objects.get(name="k").value)


def test_generate_prints_a_usable_key(capsys):
    call_command("rotate_datastore_key", "--generate")
    Fernet(capsys.readouterr().out.strip())


def test_revoke_user_refuses_their_tokens_and_keys_at_once(alice, alice_api, anon_api):
    token = login("alice").json()["token"]
    key = alice_api.post("/api/v1/apikeys", {}, format="json").json()["key"]
    assert anon_api.get("/api/v1/user", HTTP_X_AUTH_TOKEN=token).status_code == 200
    call_command("revoke_user", "alice")
    assert anon_api.get("/api/v1/user", HTTP_X_AUTH_TOKEN=token).status_code == 401
    assert anon_api.get("/api/v1/user", HTTP_ST2_API_KEY=key).status_code == 401
    assert not Token.objects.filter(user=alice).exists()
    assert ApiKey.objects.filter(user=alice, enabled=False).count() == 1
    assert login("alice").status_code == 201  # the password still works without --deactivate
    call_command("revoke_user", "alice", "--deactivate")
    assert login("alice").status_code == 401


def test_rotation_covers_secret_execution_parameters(settings, admin_api):
    register_bundled_packs()
    body = {
        "action": "demo.deploy",
        "parameters": {"environment": "staging", "version": "1.0", "api_token": "tok-123"},
    }
    response = admin_api.post("/api/v1/executions", body, format="json")
    assert response.status_code == 201, response.content
    old, new = settings.ST2_DATASTORE_KEY, Fernet.generate_key().decode()
    settings.ST2_DATASTORE_KEY = f"{new},{old}"
    call_command("rotate_datastore_key")
    settings.ST2_DATASTORE_KEY = new
    stored = Execution.objects.get(id=response.json()["id"]).secret_parameters
    assert "tok-123" in datastore.decrypt(stored)


def test_rotation_covers_pack_config_secrets(settings, admin_api):
    register_bundled_packs()
    attributes = {"token": {"type": "string", "secret": True}}
    ConfigSchema.objects.create(pack="demo", attributes=attributes)
    response = admin_api.put("/api/v1/configs/demo", {"token": "tok-456"}, format="json")
    assert response.status_code == 200, response.content
    old, new = settings.ST2_DATASTORE_KEY, Fernet.generate_key().decode()
    settings.ST2_DATASTORE_KEY = f"{new},{old}"
    call_command("rotate_datastore_key")
    settings.ST2_DATASTORE_KEY = new
    shown = admin_api.get("/api/v1/configs/demo?show_secrets=true").json()["values"]
    assert shown == {"token": "tok-456"}
