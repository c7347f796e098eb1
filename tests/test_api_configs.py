"""/api/v1/configs and /api/v1/config_schemas (issue 15): pack configs as StackStorm answers
them, secrets encrypted at rest and masked, validation naming the attribute, and configs
loaded from <ST2_CONFIGS_DIR>/<pack>.yaml at registration."""

import json
import logging
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.contrib.auth.models import Group

from st2bridge import config_schema, datastore
from st2bridge.constants import MASK
from st2bridge.errors import InvalidInput
from st2bridge.models import PackConfig, TeamAccess
from st2bridge.packs import register_packs

from .config_support import SECRETS, VALUES, register_with, write_config_pack

REFERENCE_PACKS = Path(settings.BASE_DIR).parent / "shared" / "reference" / "packs"
MASKED_VALUES = {
    "api_token": MASK,
    "port": 8443,
    "auth": {"username": "svc", "password": MASK},
    "accounts": [{"name": "first", "password": MASK}, {"name": "second"}],
}


@pytest.fixture
def pack(db, tmp_path):
    pack = write_config_pack(tmp_path / "packs")
    register_with(pack)
    return pack


def put(api, pack_ref, values, **query):
    suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    return api.put(f"/api/v1/configs/{pack_ref}{suffix}", values, format="json")


def test_schemas_are_registered_with_their_pack(pack, alice_api):
    listed = alice_api.get("/api/v1/config_schemas")
    assert listed.status_code == 200
    assert [schema["pack"] for schema in listed.json()] == ["cfg"]
    one = alice_api.get("/api/v1/config_schemas/cfg").json()
    assert set(one) == {"id", "pack", "attributes"}
    assert one["attributes"]["api_token"] == {
        "type": "string",
        "description": "Token for the service",
        "secret": True,
        "required": True,
    }
    missing = alice_api.get("/api/v1/config_schemas/core")
    assert missing.status_code == 404
    assert missing.json() == {"faultstring": 'Unable to identify resource with pack_ref "core".'}


def test_no_config_yet_is_404(pack, admin_api):
    response = admin_api.get("/api/v1/configs/cfg")
    assert response.status_code == 404
    assert response.json()["faultstring"] == 'Unable to identify resource with pack_ref "cfg".'
    assert admin_api.get("/api/v1/configs").json() == []


def test_admin_sets_a_config_and_secrets_are_masked_and_encrypted(pack, admin_api, alice_api):
    response = put(admin_api, "cfg", VALUES)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == {"id", "pack", "values"}
    assert body["pack"] == "cfg"
    assert body["values"] == MASKED_VALUES  # as given: defaults are applied at run time
    for api in (admin_api, alice_api):
        assert api.get("/api/v1/configs/cfg").json()["values"] == MASKED_VALUES
        assert api.get("/api/v1/configs").json() == [body]
    # At rest: masked values, and the whole config encrypted with the datastore key.
    row = PackConfig.objects.get(pack="cfg")
    assert row.values == MASKED_VALUES
    assert not any(secret in row.sealed_values for secret in SECRETS)
    assert json.loads(datastore.decrypt(row.sealed_values)) == VALUES


def test_show_secrets_is_for_admins_only(pack, admin_api, alice_api):
    put(admin_api, "cfg", VALUES)
    shown = admin_api.get("/api/v1/configs/cfg?show_secrets=true").json()["values"]
    assert shown == VALUES
    assert admin_api.get("/api/v1/configs?show_secrets=true").json()[0]["values"] == VALUES
    put_shown = put(admin_api, "cfg", VALUES, show_secrets="true").json()["values"]
    assert put_shown == VALUES
    member = alice_api.get("/api/v1/configs/cfg?show_secrets=true").json()["values"]
    assert member == MASKED_VALUES
    assert alice_api.get("/api/v1/configs?show_secrets=true").json()[0]["values"] == MASKED_VALUES


def test_members_may_not_change_a_config(pack, alice_api):
    response = put(alice_api, "cfg", VALUES)
    assert response.status_code == 403
    assert response.json() == {
        "faultstring": 'User "alice" doesn\'t have required permission "pack_config"'
    }
    assert not PackConfig.objects.exists()


def test_masked_secrets_sent_back_keep_their_stored_values(pack, admin_api):
    put(admin_api, "cfg", VALUES)
    read_back = admin_api.get("/api/v1/configs/cfg").json()["values"]
    read_back["port"] = 9000
    read_back["accounts"].append({"name": "third", "password": MASK})  # nothing stored there
    assert put(admin_api, "cfg", read_back).status_code == 200
    stored = admin_api.get("/api/v1/configs/cfg?show_secrets=true").json()["values"]
    assert stored == {
        **VALUES,
        "port": 9000,
        "accounts": [*VALUES["accounts"], {"name": "third"}],
    }


@pytest.mark.parametrize(
    ("change", "faultstring"),
    [
        (
            {"port": "abc"},
            'Failed validating attribute "port" in config for pack "cfg": \'abc\' is not of '
            "type 'integer'",
        ),
        (
            {"api_token": None},
            'Failed validating attribute "api_token" in config for pack "cfg": '
            "the value (secret, not shown) fails 'type': 'string'",
        ),
        (
            {"region": "mars"},
            'Failed validating attribute "region" in config for pack "cfg": \'mars\' is not '
            "one of ['eu', 'us']",
        ),
        (
            {"auth": {"password": "x"}},
            'Failed validating attribute "auth.username" in config for pack "cfg": '
            "'username' is a required property",
        ),
        (
            {"accounts": [{"name": "a"}, {"port": 25}]},
            'Failed validating attribute "accounts.1.name" in config for pack "cfg": '
            "'name' is a required property",
        ),
        (
            {"api_token": "{{ st2kv.system.token | decrypt_kv }}"},
            'Values specified as "secret: True" in config schema are automatically decrypted '
            'by default. Use of "decrypt_kv" jinja filter is not allowed for such values. '
            "Please check the specified values in the config or the default values in the "
            "schema.",
        ),
    ],
)
def test_invalid_values_are_400_naming_the_attribute(pack, admin_api, change, faultstring):
    response = put(admin_api, "cfg", {**VALUES, **change})
    assert response.status_code == 400
    assert response.json() == {"faultstring": faultstring}
    assert not PackConfig.objects.exists()


def test_a_required_secret_left_out_is_named(pack, admin_api):
    values = {key: value for key, value in VALUES.items() if key != "api_token"}
    response = put(admin_api, "cfg", values)
    assert response.status_code == 400
    assert response.json()["faultstring"] == (
        'Failed validating attribute "api_token" in config for pack "cfg": '
        "'api_token' is a required property"
    )


def test_a_secret_value_is_never_quoted_in_an_error(pack, admin_api):
    response = put(admin_api, "cfg", {**VALUES, "api_token": ["tok-s3cret-9"]})
    assert response.status_code == 400
    faultstring = response.json()["faultstring"]
    assert faultstring.startswith('Failed validating attribute "api_token" in config for pack')
    assert "tok-s3cret-9" not in faultstring
    nested = put(admin_api, "cfg", {**VALUES, "auth": {"username": "u", "password": 12345678}})
    assert nested.status_code == 400
    assert nested.json()["faultstring"].startswith('Failed validating attribute "auth.password"')
    assert "12345678" not in nested.json()["faultstring"]


def test_secrets_never_reach_the_logs(pack, admin_api, caplog):
    with caplog.at_level(logging.DEBUG):
        put(admin_api, "cfg", VALUES)
        admin_api.get("/api/v1/configs/cfg?show_secrets=true")
        put(admin_api, "cfg", {**VALUES, "port": "not a port"})
    assert "Config of pack cfg set by admin" in caplog.text
    assert not any(secret in caplog.text for secret in SECRETS)


def test_bad_bodies_and_unknown_packs(pack, admin_api):
    not_an_object = admin_api.put("/api/v1/configs/cfg", [1, 2], format="json")
    assert not_an_object.status_code == 400
    assert not_an_object.json()["faultstring"] == "Input body needs to be an object, got: array"
    unknown = put(admin_api, "nope", {"a": 1})
    assert unknown.status_code == 404
    assert unknown.json()["faultstring"] == 'Unable to identify resource with pack_ref "nope".'
    assert admin_api.get("/api/v1/configs/nope").status_code == 404


def test_a_pack_without_schema_takes_any_config(pack, admin_api):
    response = put(admin_api, "demo", {"anything": {"goes": [1, 2]}})
    assert response.status_code == 200
    assert response.json()["values"] == {"anything": {"goes": [1, 2]}}


def test_members_see_configs_only_of_the_packs_they_see(pack, admin_api, alice, alice_api):
    put(admin_api, "cfg", VALUES)
    group = Group.objects.create(name="ops")
    TeamAccess.objects.create(group=group, packs=["core"])
    group.user_set.add(alice)
    assert alice_api.get("/api/v1/configs").json() == []
    assert alice_api.get("/api/v1/config_schemas").json() == []
    assert alice_api.get("/api/v1/configs/cfg").status_code == 404
    assert alice_api.get("/api/v1/config_schemas/cfg").status_code == 404


def test_anonymous_callers_are_refused(pack, anon_api):
    for path in ("/api/v1/configs", "/api/v1/configs/cfg", "/api/v1/config_schemas"):
        assert anon_api.get(path).status_code == 401


# --- configs/<pack>.yaml ------------------------------------------------------------------


def write_config_file(pack_ref, values):
    directory = Path(settings.ST2_CONFIGS_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{pack_ref}.yaml").write_text(yaml.safe_dump(values))


def test_registration_loads_the_config_file_and_api_edits_survive_it(pack, admin_api):
    write_config_file("cfg", VALUES)
    register_with(pack)
    shown = admin_api.get("/api/v1/configs/cfg?show_secrets=true").json()["values"]
    assert shown == VALUES
    assert PackConfig.objects.get(pack="cfg").values == MASKED_VALUES  # encrypted here too
    put(admin_api, "cfg", {**VALUES, "port": 1})
    register_with(pack)  # the file did not change: the API's edit stays
    assert admin_api.get("/api/v1/configs/cfg").json()["values"]["port"] == 1
    write_config_file("cfg", {**VALUES, "port": 2})
    register_with(pack)  # the file changed: it wins
    assert admin_api.get("/api/v1/configs/cfg").json()["values"]["port"] == 2


def test_an_invalid_config_file_is_reported_with_its_file_and_attribute(pack):
    write_config_file("cfg", {**VALUES, "port": "abc"})
    report = register_packs(
        [*settings.ST2_PACKS_DIRS, pack.parent], [settings.ST2_RUNNER_TYPES_FILE]
    )
    path = Path(settings.ST2_CONFIGS_DIR) / "cfg.yaml"
    assert report.errors == [
        f'{path}: Failed validating attribute "port" in config for pack "cfg": \'abc\' is not '
        "of type 'integer'"
    ]
    assert not PackConfig.objects.exists()


def test_an_invalid_schema_is_reported_and_the_pack_still_registers(db, tmp_path):
    pack = write_config_pack(tmp_path / "packs", schema="port:\n  type: port-number\n")
    report = register_packs([pack.parent], [settings.ST2_RUNNER_TYPES_FILE])
    assert report.packs == 1
    assert report.errors == [
        f"{pack.resolve() / 'config.schema.yaml'}: port.type: 'port-number' is not one of "
        "['string', 'integer', 'number', 'boolean', 'object', 'array', 'null']"
    ]


def test_every_reference_pack_schema_is_a_valid_schema():
    schemas = sorted(REFERENCE_PACKS.glob("*/config.schema.yaml"))
    assert len(schemas) >= 8
    for path in schemas:
        config_schema.check_schema(yaml.safe_load(path.read_text()) or {})


def test_reference_email_config_is_checked_as_stackstorm_checks_it():
    """email's schema: arrays of objects with required items, secrets and defaults."""
    attributes = yaml.safe_load((REFERENCE_PACKS / "email" / "config.schema.yaml").read_text())
    account = {"name": "me", "server": "smtp.example", "password": "p", "username": "u"}
    config_schema.check_values(
        "email", attributes, {"smtp_accounts": [account]} | {"imap_accounts": [account]}
    )
    with pytest.raises(InvalidInput) as refused:
        config_schema.check_values("email", attributes, {"imap_accounts": []})
    assert refused.value.message == (
        'Failed validating attribute "smtp_accounts" in config for pack "email": '
        "'smtp_accounts' is a required property"
    )
    masked = config_schema.mask({"smtp_accounts": [account]}, attributes)
    assert masked == {"smtp_accounts": [{**account, "password": MASK}]}


def test_an_empty_schema_item_takes_any_value(db, tmp_path, admin_api):
    pack = write_config_pack(tmp_path / "packs", schema="anything:\nport:\n  type: integer\n")
    register_with(pack)
    schema = admin_api.get("/api/v1/config_schemas/cfg").json()["attributes"]
    assert schema == {"anything": {}, "port": {"type": "integer"}}
    response = put(admin_api, "cfg", {"anything": [1, "two"], "port": 1})
    assert response.status_code == 200, response.json()
