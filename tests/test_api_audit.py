"""The audit log (issue 18) through the API: one test per recorded event, each read back from
GET /api/v1/audit as an administrator; who, from where and with which credential; secrets and
datastore values never in a record; staff only; read-only; append-only underneath."""

import json

import pytest
from django.db import DatabaseError, connection, transaction
from rest_framework.test import APIClient

from st2bridge import audit
from st2bridge.models import AppendOnly, AuditRecord

from .catalog_support import register_bundled_packs
from .conftest import PASSWORD, basic, login

pytestmark = pytest.mark.django_db
MASK = "********"
CANARY = "canary-audit-5772"


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


def records(admin_api, **filters):
    response = admin_api.get("/api/v1/audit", filters)
    assert response.status_code == 200, response.json()
    return response.json()


def only(admin_api, action, **filters):
    """The one record of `action` (asserting there is exactly one)."""
    found = records(admin_api, action=action, **filters)
    assert len(found) == 1, found
    return found[0]


# --- sign-in and sign-out ------------------------------------------------------------------


def test_sign_in_is_recorded_with_the_token_id_and_address(admin_api, alice):
    response = login("alice")
    assert response.status_code == 201
    record = only(admin_api, "auth.signin", user="alice")
    assert record["credential"] == f"token:{response.json()['id']}"
    assert record["object_type"] == "token"
    assert record["object_id"] == response.json()["id"]
    assert record["address"] == "127.0.0.1"
    assert response.json()["token"] not in json.dumps(record)


def test_failed_sign_in_is_recorded_without_the_password(admin_api, alice):
    response = APIClient().post(
        "/auth/v1/tokens", {}, format="json", HTTP_AUTHORIZATION=basic("alice", CANARY)
    )
    assert response.status_code == 401
    record = only(admin_api, "auth.signin_failed")
    assert (record["user"], record["credential"], record["address"]) == ("alice", "", "127.0.0.1")
    assert CANARY not in json.dumps(records(admin_api))
    assert not AuditRecord.objects.filter(changes__icontains=CANARY).exists()


def test_sign_out_is_recorded_with_the_token_it_ended(admin_api, alice):
    token = login("alice").json()
    response = APIClient().post("/auth/v1/tokens/revoke", {"token": token["token"]}, format="json")
    assert response.status_code == 204
    record = only(admin_api, "auth.signout")
    assert (record["user"], record["credential"]) == ("alice", f"token:{token['id']}")


def test_x_forwarded_for_is_believed_only_from_trusted_proxies(admin_api, alice, settings):
    forwarded = {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    client = APIClient()
    client.post(
        "/auth/v1/tokens", {}, format="json", HTTP_AUTHORIZATION=basic("alice"), **forwarded
    )
    assert only(admin_api, "auth.signin", user="alice")["address"] == "127.0.0.1"
    settings.PORTAL_TRUSTED_PROXIES = ["127.0.0.1"]
    client.post(
        "/auth/v1/tokens", {}, format="json", HTTP_AUTHORIZATION=basic("alice"), **forwarded
    )
    addresses = [r["address"] for r in records(admin_api, action="auth.signin", user="alice")]
    assert addresses == ["203.0.113.9", "127.0.0.1"]


# --- API keys ------------------------------------------------------------------------------


def create_key(api, **body):
    response = api.post("/api/v1/apikeys", {"metadata": {"name": "ci"}, **body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_key_creation_is_recorded_without_the_key(admin_api, alice_api):
    key = create_key(alice_api)
    record = only(admin_api, "apikey.create")
    assert (record["user"], record["object_id"]) == ("alice", key["id"])
    assert record["credential"].startswith("token:")
    assert record["changes"]["metadata"] == [None, {"name": "ci"}]
    assert record["changes"]["key_hash"] == [None, MASK]
    assert key["key"] not in json.dumps(record)


def test_a_key_used_as_credential_is_named_by_its_id(admin_api, alice_api):
    key = create_key(alice_api)
    with_key = APIClient()
    with_key.credentials(HTTP_ST2_API_KEY=key["key"])
    create_key(with_key, metadata={"name": "second"})
    newest = records(admin_api, action="apikey.create")[0]
    assert newest["credential"] == f"apikey:{key['id']}"


def test_disabling_enabling_and_deleting_a_key_are_recorded(admin_api, alice_api):
    key = create_key(alice_api)
    url = f"/api/v1/apikeys/{key['id']}"
    body = {"user": "alice", "metadata": {"name": "ci"}}
    assert alice_api.put(url, {**body, "enabled": False}, format="json").status_code == 200
    assert only(admin_api, "apikey.disable")["changes"] == {"enabled": [True, False]}
    assert alice_api.put(url, {**body, "enabled": True}, format="json").status_code == 200
    assert only(admin_api, "apikey.enable")["changes"] == {"enabled": [False, True]}
    assert alice_api.delete(url).status_code == 204
    deleted = only(admin_api, "apikey.delete")
    assert (deleted["user"], deleted["object_id"]) == ("alice", key["id"])
    assert deleted["changes"]["enabled"] == [True, None]


def test_an_administrators_revocation_of_anothers_key_is_recorded_as_such(admin_api, alice_api):
    key = create_key(alice_api)
    url = f"/api/v1/apikeys/{key['id']}"
    assert admin_api.put(url, {"user": "alice", "enabled": False}, format="json").status_code == 200
    assert admin_api.delete(url).status_code == 204
    revoked = records(admin_api, action="apikey.revoke")
    assert [(r["user"], r["object_id"]) for r in revoked] == [("admin", key["id"])] * 2
    assert revoked[1]["changes"] == {"enabled": [True, False]}
    assert not records(admin_api, action="apikey.disable")


# --- executions ----------------------------------------------------------------------------


def launch(api, action, **parameters):
    body = {"action": action, "parameters": parameters}
    response = api.post("/api/v1/executions", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_launch_is_recorded_with_its_parameters_and_secrets_masked(admin_api, alice_api):
    execution = launch(
        alice_api, "demo.deploy", environment="staging", version="1", api_token=CANARY
    )
    record = only(admin_api, "execution.launch")
    assert (record["user"], record["object_type"]) == ("alice", "execution")
    assert record["object_id"] == execution["id"]
    assert record["changes"]["action"] == [None, "demo.deploy"]
    parameters = record["changes"]["parameters"][1]
    assert parameters["environment"] == "staging" and parameters["api_token"] == MASK
    assert CANARY not in json.dumps(records(admin_api))


def test_a_refused_launch_records_nothing(admin_api, alice_api):
    body = {"action": "core.local", "parameters": {"cmd": 1, "timeout": "soon"}}
    assert alice_api.post("/api/v1/executions", body, format="json").status_code == 400
    assert not records(admin_api, action="execution.launch")


def test_a_cancel_is_recorded(admin_api, alice_api):
    execution = launch(alice_api, "core.local", cmd="sleep 5")
    assert alice_api.delete(f"/api/v1/executions/{execution['id']}").status_code == 200
    record = only(admin_api, "execution.cancel")
    assert (record["user"], record["object_id"]) == ("alice", execution["id"])
    assert record["changes"] == {"status": ["requested", "canceled"]}


def test_a_re_run_is_recorded_with_what_it_re_ran(admin_api, alice_api):
    original = launch(
        alice_api, "demo.deploy", environment="staging", version="1", api_token=CANARY
    )
    url = f"/api/v1/executions/{original['id']}/re_run"
    rerun = alice_api.post(url, {"parameters": {"version": "2"}}, format="json").json()
    record = only(admin_api, "execution.rerun")
    assert record["object_id"] == rerun["id"]
    assert record["changes"]["re-run"] == [None, {"ref": original["id"]}]
    assert record["changes"]["parameters"][1]["api_token"] == MASK
    assert CANARY not in json.dumps(records(admin_api))


# --- rules ---------------------------------------------------------------------------------


def rule_body(**extra):
    return {
        "name": "on_hook",
        "pack": "demo",
        "trigger": {"type": "core.st2.webhook", "parameters": {"url": "audit"}},
        "action": {
            "ref": "demo.deploy",
            "parameters": {"environment": "staging", "version": "1", "api_token": CANARY},
        },
        **extra,
    }


def test_rule_creation_change_enable_disable_and_deletion_are_recorded(admin_api, alice_api):
    rule = alice_api.post("/api/v1/rules", rule_body(), format="json").json()
    url = f"/api/v1/rules/{rule['id']}"
    assert alice_api.put(url, rule_body(description="new"), format="json").status_code == 200
    for enabled in (True, False):
        body = rule_body(description="new", enabled=enabled)
        assert alice_api.put(url, body, format="json").status_code == 200
    assert alice_api.delete(url).status_code == 204
    actions = [r["action"] for r in records(admin_api, object_type="rule")]
    assert actions == ["rule.delete", "rule.disable", "rule.enable", "rule.update", "rule.create"]
    created, updated = only(admin_api, "rule.create"), only(admin_api, "rule.update")
    assert created["object_id"] == "demo.on_hook" and created["user"] == "alice"
    assert created["changes"]["action"][1]["parameters"]["api_token"] == MASK
    assert updated["changes"] == {"description": ["", "new"]}
    assert only(admin_api, "rule.disable")["changes"] == {"enabled": [True, False]}
    assert CANARY not in json.dumps(records(admin_api))


def test_a_changed_secret_rule_parameter_is_recorded_masked(admin_api, alice_api):
    rule = alice_api.post("/api/v1/rules", rule_body(), format="json").json()
    body = rule_body()
    body["action"]["parameters"]["api_token"] = CANARY + "-2"
    assert alice_api.put(f"/api/v1/rules/{rule['id']}", body, format="json").status_code == 200
    changes = only(admin_api, "rule.update")["changes"]
    assert changes["action"][0]["parameters"]["api_token"] == MASK
    assert changes["action"][1]["parameters"]["api_token"] == MASK
    assert CANARY not in json.dumps(records(admin_api))


# --- the datastore -------------------------------------------------------------------------


def test_datastore_writes_and_deletes_are_recorded_by_name_never_value(admin_api, alice_api):
    plain = {"name": "plain", "value": CANARY, "scope": "user"}
    assert alice_api.put("/api/v1/keys/plain", plain, format="json").status_code == 200
    secret = {"name": "hidden", "value": CANARY, "secret": True}
    assert admin_api.put("/api/v1/keys/hidden", secret, format="json").status_code == 200
    assert alice_api.delete("/api/v1/keys/plain?scope=user").status_code == 204
    sets = records(admin_api, action="key.set")
    assert [(r["user"], r["object_id"]) for r in sets] == [
        ("admin", "st2kv.system:hidden"),
        ("alice", "st2kv.user:alice:plain"),
    ]
    assert sets[0]["changes"] == {"secret": [None, True]}
    assert only(admin_api, "key.delete")["object_id"] == "st2kv.user:alice:plain"
    assert CANARY not in json.dumps(records(admin_api))
    assert not AuditRecord.objects.filter(changes__icontains=CANARY).exists()


# --- teams ---------------------------------------------------------------------------------


def test_team_and_grant_changes_are_recorded(admin_api, alice, bob):
    team = admin_api.post(
        "/api/v1/teams", {"name": "ops", "members": ["alice"], "packs": ["demo"]}, format="json"
    ).json()
    url = f"/api/v1/teams/{team['id']}"
    admin_api.put(url, {"name": "ops", "actions": ["core.local"]}, format="json")
    admin_api.put(f"{url}/members/bob", format="json")
    admin_api.delete(f"{url}/members/alice")
    admin_api.delete(url)
    found = records(admin_api, action="team")
    assert [r["action"] for r in found] == [
        "team.delete", "team.member_remove", "team.member_add", "team.update", "team.create",
    ]  # fmt: skip
    assert {r["object_id"] for r in found} == {team["id"]}
    changes = {r["action"]: r["changes"] for r in found}
    assert changes["team.create"]["packs"] == [None, ["demo"]]
    assert changes["team.update"] == {"actions": [[], ["core.local"]]}
    assert changes["team.member_add"] == {"members": [["alice"], ["alice", "bob"]]}
    assert changes["team.member_remove"] == {"members": [["alice", "bob"], ["bob"]]}
    assert changes["team.delete"]["name"] == ["ops", None]


def test_launch_template_creation_change_and_deletion_are_recorded(admin_api):
    template = {
        "ref": "ops.say_hi",
        "name": "Say hi",
        "action": "core.local",
        "parameters": {"cmd": {"mode": "fixed", "value": "echo hi", "shown": True}},
    }
    assert admin_api.post("/api/v1/templates", template, format="json").status_code == 201
    template["parameters"]["cmd"]["value"] = "echo hello"
    url = "/api/v1/templates/ops.say_hi"
    assert admin_api.put(url, template, format="json").status_code == 200
    assert admin_api.delete(url).status_code == 204
    found = records(admin_api, object_type="template")
    assert [r["action"] for r in found] == ["template.delete", "template.update", "template.create"]
    assert {r["object_id"] for r in found} == {"ops.say_hi"}
    changes = {r["action"]: r["changes"] for r in found}
    assert changes["template.create"]["action"] == [None, "core.local"]
    fixed = {"mode": "fixed", "shown": True}
    assert changes["template.update"] == {
        "parameters": [
            {"cmd": {**fixed, "value": "echo hi"}},
            {"cmd": {**fixed, "value": "echo hello"}},
        ]
    }
    assert changes["template.delete"]["name"] == ["Say hi", None]


# --- pack configs ---------------------------------------------------------------------------


def test_a_pack_config_change_is_recorded_with_secrets_masked(admin_api, tmp_path):
    from .config_support import SECRETS, VALUES, register_with, write_config_pack

    register_with(write_config_pack(tmp_path / "packs"))
    assert admin_api.put("/api/v1/configs/cfg", VALUES, format="json").status_code == 200
    changed = {**VALUES, "port": 9443, "api_token": "another-" + CANARY}
    assert admin_api.put("/api/v1/configs/cfg", changed, format="json").status_code == 200
    first, second = reversed(records(admin_api, action="config.set"))
    assert first["object_id"] == "cfg" and first["changes"]["api_token"] == [None, MASK]
    assert second["changes"] == {"port": [8443, 9443], "api_token": [MASK, MASK]}
    text = json.dumps(records(admin_api))
    assert not any(secret in text for secret in [*SECRETS, CANARY])


# --- reading: staff only, filters, paging, read-only ---------------------------------------


def test_non_staff_get_403_and_anonymous_callers_401(alice_api, anon_api):
    response = alice_api.get("/api/v1/audit")
    assert response.status_code == 403
    assert response.json() == {"faultstring": "Only administrators may read the audit log."}
    assert anon_api.get("/api/v1/audit").status_code == 401


def test_filters_and_paging_headers(admin_api, alice_api, bob_api):
    launch(alice_api, "core.noop")
    launch(bob_api, "core.noop")
    launch(alice_api, "core.noop")
    response = admin_api.get("/api/v1/audit", {"action": "execution", "limit": 2})
    assert response["X-Total-Count"] == "3" and response["X-Limit"] == "2"
    assert len(response.json()) == 2
    mine = records(admin_api, user="alice", action="execution.launch")
    assert [r["user"] for r in mine] == ["alice", "alice"]
    older = records(admin_api, action="execution.launch", before_id=mine[0]["id"])
    assert [r["id"] for r in older] == [r["id"] for r in records(admin_api, action="execution")][1:]
    stamp = mine[0]["timestamp"]
    assert records(admin_api, action="execution.launch", timestamp_gt=stamp) == []
    assert len(records(admin_api, action="execution.launch", timestamp_lt=stamp)) == 2


def test_a_bad_time_filter_is_400_naming_it(admin_api):
    response = admin_api.get("/api/v1/audit", {"timestamp_gt": "yesterday"})
    assert response.status_code == 400
    assert "timestamp_gt" in response.json()["faultstring"]
    assert admin_api.get("/api/v1/audit", {"before_id": "x"}).status_code == 400


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_api_cannot_change_or_delete_records(admin_api, method):
    before = list(AuditRecord.objects.values())
    response = getattr(admin_api, method)("/api/v1/audit", {"id": "1"}, format="json")
    assert response.status_code == 405
    assert response["Allow"].startswith("GET") and method.upper() not in response["Allow"]
    assert "read-only" in response.json()["faultstring"]
    assert admin_api.delete(f"/api/v1/audit/{before[0]['id']}").status_code == 404
    assert list(AuditRecord.objects.values()) == before


def test_offered_in_extensions_and_documented(admin_api):
    assert admin_api.get("/api/v1/extensions").json()["audit"] is True
    document = admin_api.get("/api/v1/openapi.json").json()
    assert set(document["paths"]["/api/v1/audit"]) == {"get"}
    assert "AuditRecord" in document["components"]["schemas"]


# --- append-only underneath ----------------------------------------------------------------


def test_a_record_refuses_save_and_delete(admin_user):
    record = audit.record(audit.Actor("admin", "127.0.0.1"), "auth.signin")
    record.action = "auth.signout"
    with pytest.raises(AppendOnly):
        record.save()
    with pytest.raises(AppendOnly):
        record.delete()
    with pytest.raises(AppendOnly):
        AuditRecord.objects.filter(pk=record.pk).update(action="auth.signout")
    assert AuditRecord.objects.get(pk=record.pk).action == "auth.signin"


def test_the_database_refuses_an_update(admin_user):
    record = audit.record(audit.Actor("admin"), "auth.signin")
    table = AuditRecord._meta.db_table
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET action = 'x' WHERE id = %s", [record.pk])  # noqa: S608
    assert AuditRecord.objects.get(pk=record.pk).action == "auth.signin"


def test_large_values_are_not_kept_whole(alice):
    changes = {"output": [None, "x" * 10_000]}
    record = audit.record(audit.Actor("alice"), "config.set", "config", "p", changes)
    assert record.changes == {"output": [None, "(10002 characters of JSON, not kept)"]}


def test_retention_purges_old_records_and_keeps_young_ones(admin_user, settings):
    from datetime import timedelta

    from django.utils import timezone

    from st2bridge import retention

    now = timezone.now()
    for days in (40, 31, 29, 1):
        AuditRecord(at=now - timedelta(days=days), actor="admin", action="auth.signin").save()
    settings.ST2_AUDIT_RECORDS_TTL = 0  # the default: kept for ever
    retention.purge(now=now, budget=None)
    assert AuditRecord.objects.filter(actor="admin").count() == 4
    settings.ST2_AUDIT_RECORDS_TTL = 30
    reports = {r.table: r.purged for r in retention.purge(now=now, budget=None)}
    assert reports["audit records"] == 2
    left = AuditRecord.objects.filter(actor="admin").order_by("at")
    assert [(now - r.at).days for r in left] == [29, 1]


# --- the Django admin: its sign-in and its team changes --------------------------------------


def test_the_django_admins_sign_in_and_team_changes_are_recorded(admin_user, alice):
    from django.contrib.auth.models import Group
    from django.test import Client

    from .test_portal_teams import TEAMS, team_form

    client = Client(REMOTE_ADDR="192.0.2.4")
    bad = client.post("/admin/login/", {"username": "admin", "password": CANARY})
    assert bad.status_code == 200
    assert (
        client.post("/admin/login/", {"username": "admin", "password": PASSWORD}).status_code == 302
    )
    failed, signed_in = AuditRecord.objects.filter(action__startswith="auth.").order_by("pk")
    assert (failed.action, failed.actor, failed.address) == (
        "auth.signin_failed",
        "admin",
        "192.0.2.4",
    )
    assert (signed_in.action, signed_in.credential) == ("auth.signin", "session")

    assert client.post(f"{TEAMS}add/", team_form("ops", [alice], packs="demo")).status_code == 302
    team = Group.objects.get(name="ops")
    changed = team_form("ops", [alice], packs="demo", actions="core.local")
    changed["access-INITIAL_FORMS"] = "1"
    changed["access-0-id"] = str(team.access.pk)
    changed["access-0-group"] = str(team.pk)
    assert client.post(f"{TEAMS}{team.pk}/change/", changed).status_code == 302
    assert client.post(f"{TEAMS}{team.pk}/delete/", {"post": "yes"}).status_code == 302
    records = AuditRecord.objects.filter(object_type="team").order_by("pk")
    assert [r.action for r in records] == ["team.create", "team.update", "team.delete"]
    assert {(r.actor, r.address, r.credential, r.object_id) for r in records} == {
        ("admin", "192.0.2.4", "session", str(team.pk))
    }
    assert records[0].changes["members"] == [None, ["alice"]]
    assert records[1].changes == {"actions": [[], ["core.local"]]}
    assert CANARY not in json.dumps(list(AuditRecord.objects.values("changes")))


def test_an_unknown_action_is_refused(alice):
    with pytest.raises(ValueError, match="not an audited action"):
        audit.record(audit.Actor("alice"), "rule.updated")


# --- no change without its record ------------------------------------------------------------


class Refused(Exception):
    pass


@pytest.mark.parametrize(
    ("model", "call"),
    [
        ("Token", lambda alice_api: login("alice")),
        ("ApiKey", lambda api: api.post("/api/v1/apikeys", {}, format="json")),
        (
            "Execution",
            lambda api: api.post("/api/v1/executions", {"action": "core.noop"}, format="json"),
        ),
        ("Rule", lambda api: api.post("/api/v1/rules", rule_body(), format="json")),
        (
            "KeyValuePair",
            lambda api: api.put(
                "/api/v1/keys/k", {"name": "k", "value": "v", "scope": "user"}, format="json"
            ),
        ),
    ],
)
def test_a_change_whose_record_fails_is_rolled_back(alice_api, monkeypatch, model, call):
    from django.apps import apps

    rows = apps.get_model("st2bridge", model).objects
    before = rows.count()

    def refuse(**fields):
        raise Refused(fields["action"])

    monkeypatch.setattr(AuditRecord.objects, "create", refuse)
    with pytest.raises(Refused):
        call(alice_api)
    assert rows.count() == before
