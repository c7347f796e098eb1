"""The unmodified official `st2` CLI (st2client 3.9.0) against a live server.

Every test gets a fresh database (live_server implies transactional_db, which empties the
tables after each test), so each logs in again with its own empty HOME; a login costs one
CLI run (~0.3 s), and the tests stay independent of each other and of their order.
"""

import configparser
import io
import json
import time

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command

from st2bridge.auth import credential_hash
from st2bridge.models import Token

from .cli_support import St2, output, parsed, refused, st2_binary
from .conftest import PASSWORD

pytestmark = pytest.mark.cli

CORE_PACK = settings.BASE_DIR / "packs" / "core"


@pytest.fixture
def cli(live_server, tmp_path):
    """Make an `st2` with an empty HOME of its own, pointed at the live server."""

    def make(name="home"):
        home = tmp_path / name
        home.mkdir()
        return St2(st2_binary(), live_server.url, home)

    return make


def logged_in(cli, username):
    st2 = cli(username)
    result = st2("login", username, "-p", PASSWORD)
    assert result.returncode == 0, output(result)
    return st2


@pytest.fixture
def st2(cli, admin_user):
    """The CLI after `st2 login admin` (an administrator)."""
    return logged_in(cli, "admin")


@pytest.fixture
def alice_st2(cli, alice):
    """The CLI after `st2 login alice` (a user with no special rights)."""
    return logged_in(cli, "alice")


@pytest.fixture
def packs(transactional_db):
    """The bundled packs (core, demo, ...) registered as `make run` does."""
    call_command("register_packs", stdout=io.StringIO())


def core_action_refs():
    return {
        "core." + yaml.safe_load(path.read_text())["name"]
        for path in (CORE_PACK / "actions").glob("*.yaml")
    }


def create_api_key(st2, metadata='{"used_by": "ci"}'):
    result = st2("apikey", "create", "-k", "-m", metadata)
    assert result.returncode == 0, output(result)
    return result.stdout.strip()


# --- st2 login / whoami -------------------------------------------------------------------


def test_login_caches_the_servers_token_and_remembers_the_username(cli, admin_user):
    st2 = cli()
    result = st2("login", "admin", "-p", PASSWORD)
    assert result.returncode == 0, output(result)
    assert "Logged in as admin" in result.stdout

    cached = json.loads((st2.st2_dir / "token-admin").read_text())
    token = Token.objects.get(user=admin_user, token_hash=credential_hash(cached["token"]))
    # The CLI computes the expiry from the "expiry" the server sent; it must be UTC.
    assert abs(cached["expire_timestamp"] - token.expiry.timestamp()) <= 1
    assert cached["expire_timestamp"] > time.time() + 3600

    config = configparser.ConfigParser()
    config.read(st2.st2_dir / "config")
    assert config["credentials"]["username"] == "admin"
    assert "password" not in config["credentials"]


def test_login_with_a_wrong_password_fails_and_caches_nothing(cli, admin_user):
    st2 = cli()
    result = st2("login", "admin", "-p", "not the password")
    assert result.returncode == 1, output(result)
    assert "Failed to log in as admin" in result.stdout
    assert not (st2.st2_dir / "token-admin").exists()


def test_whoami_shows_the_logged_in_user(st2):
    result = st2("whoami")
    assert result.returncode == 0, output(result)
    assert 'Currently logged in as "admin".' in result.stdout
    assert "Authentication method: authentication token" in result.stdout


def test_whoami_shows_a_plain_user_too(alice_st2):
    result = alice_st2("whoami")
    assert result.returncode == 0, output(result)
    assert 'Currently logged in as "alice".' in result.stdout


# --- st2 pack / st2 action ----------------------------------------------------------------


def test_pack_list_includes_core(st2, packs):
    assert "core" in {pack["ref"] for pack in parsed(st2("pack", "list", "-j"))}


def test_pack_get_core_shows_what_its_pack_yaml_declares(st2, packs):
    declared = yaml.safe_load((CORE_PACK / "pack.yaml").read_text())
    pack = parsed(st2("pack", "get", "core", "-j"))
    for field in ("name", "version", "author", "email", "keywords", "description"):
        assert pack[field] == declared[field], field


def test_action_list_shows_actions_of_every_pack(st2, packs):
    refs = {action["ref"] for action in parsed(st2("action", "list", "-j"))}
    assert core_action_refs() <= refs
    assert any(not ref.startswith("core.") for ref in refs), refs


def test_action_list_for_pack_core_shows_only_core_actions(st2, packs):
    actions = parsed(st2("action", "list", "-p", "core", "-j"))
    assert {action["ref"] for action in actions} == core_action_refs()
    assert {action["pack"] for action in actions} == {"core"}


def test_action_get_core_local_shows_the_local_shell_runner(st2, packs):
    action = parsed(st2("action", "get", "core.local", "-j"))
    assert action["ref"] == "core.local"
    assert (action["pack"], action["name"]) == ("core", "local")
    assert action["runner_type"] == "local-shell-cmd"
    assert "cmd" in action["parameters"]


# --- st2 apikey ---------------------------------------------------------------------------


def test_apikey_create_prints_only_the_new_86_character_key(st2):
    key = create_api_key(st2)
    assert len(key) == 86 and key.isalnum(), key
    listed = parsed(st2("apikey", "list", "-j"))
    assert [(item["user"], item["metadata"]) for item in listed] == [("admin", {"used_by": "ci"})]


def test_apikey_get_finds_the_key_by_id_and_by_the_key_itself(st2):
    key = create_api_key(st2)
    [listed] = parsed(st2("apikey", "list", "-j"))
    by_id = parsed(st2("apikey", "get", listed["id"], "-j"))
    by_key = parsed(st2("apikey", "get", key, "-j"))
    assert by_id == by_key
    assert by_id["id"] == listed["id"]
    assert by_id["metadata"] == {"used_by": "ci"}
    assert by_id["enabled"] is True
    assert by_id["key_hash"] == "********"
    assert key not in json.dumps(by_id)


def test_apikey_list_of_a_plain_user_shows_only_their_own_keys(st2, alice_st2):
    create_api_key(st2, '{"owner": "admin"}')
    create_api_key(alice_st2, '{"owner": "alice"}')
    assert [item["user"] for item in parsed(alice_st2("apikey", "list", "-j"))] == ["alice"]
    assert sorted(item["user"] for item in parsed(st2("apikey", "list", "-j"))) == [
        "admin",
        "alice",
    ]


def test_a_new_apikey_authenticates_commands_through_st2_api_key(st2, cli):
    key = create_api_key(st2)
    keyholder = cli("keyholder")  # never logged in: only the key can authenticate
    with_key = {"ST2_API_KEY": key}
    [listed] = parsed(keyholder("apikey", "list", "-j", env_extra=with_key))
    assert listed["user"] == "admin"
    whoami = keyholder("whoami", env_extra=with_key)
    assert 'Currently logged in as "admin".' in whoami.stdout, output(whoami)


def test_a_disabled_apikey_is_refused_until_enabled_again(st2, cli):
    key = create_api_key(st2)
    keyholder = cli("keyholder")
    with_key = {"ST2_API_KEY": key}

    disabled = st2("apikey", "disable", key)
    assert disabled.returncode == 0, output(disabled)
    assert parsed(st2("apikey", "get", key, "-j"))["enabled"] is False
    result = keyholder("apikey", "list", env_extra=with_key)
    assert refused(result), output(result)

    enabled = st2("apikey", "enable", key)
    assert enabled.returncode == 0, output(enabled)
    assert parsed(st2("apikey", "get", key, "-j"))["enabled"] is True
    assert parsed(keyholder("apikey", "list", "-j", env_extra=with_key))


def test_a_deleted_apikey_is_gone_and_refused(st2, cli):
    key = create_api_key(st2)
    keyholder = cli("keyholder")

    deleted = st2("apikey", "delete", key)
    assert deleted.returncode == 0, output(deleted)
    assert parsed(st2("apikey", "list", "-j")) == []
    missing = st2("apikey", "get", key)
    assert missing.returncode == 1, output(missing)
    result = keyholder("apikey", "list", env_extra={"ST2_API_KEY": key})
    assert refused(result), output(result)


# --- st2 key ------------------------------------------------------------------------------


def test_key_set_then_get_shows_the_value(st2):
    assert parsed(st2("key", "set", "greeting", "hello world", "-j"))["value"] == "hello world"
    item = parsed(st2("key", "get", "greeting", "-j"))
    assert (item["name"], item["value"]) == ("greeting", "hello world")
    assert item["scope"] in ("system", "st2kv.system")
    assert not item.get("secret")


def test_key_list_shows_every_key_set(st2):
    for name, value in (("colour", "blue"), ("size", "large")):
        assert st2("key", "set", name, value).returncode == 0
    listed = {item["name"]: item["value"] for item in parsed(st2("key", "list", "-j"))}
    assert listed == {"colour": "blue", "size": "large"}


def test_key_delete_removes_the_key(st2):
    assert st2("key", "set", "doomed", "soon gone").returncode == 0
    deleted = st2("key", "delete", "doomed")
    assert deleted.returncode == 0, output(deleted)
    missing = st2("key", "get", "doomed")
    assert missing.returncode == 1, output(missing)
    assert "not found" in missing.stdout
    assert parsed(st2("key", "list", "-j")) == []


def test_an_encrypted_key_shows_ciphertext_unless_decrypted(st2):
    plaintext = "s3cret-value"
    result = st2("key", "set", "-e", "db_password", plaintext)
    assert result.returncode == 0, output(result)

    shown = parsed(st2("key", "get", "db_password", "-j"))
    assert shown["secret"] is True and shown["encrypted"] is True
    assert shown["value"] and plaintext not in shown["value"]
    [listed] = parsed(st2("key", "list", "-j"))
    assert plaintext not in listed["value"]

    decrypted = parsed(st2("key", "get", "db_password", "--decrypt", "-j"))
    assert decrypted["value"] == plaintext


def test_a_plain_user_cannot_decrypt_a_system_secret(st2, alice_st2):
    assert st2("key", "set", "-e", "db_password", "s3cret-value").returncode == 0
    result = alice_st2("key", "get", "db_password", "--decrypt")
    assert result.returncode == 1, output(result)
    assert "403 Client Error: Forbidden" in result.stdout
    assert "s3cret-value" not in result.stdout + result.stderr
