"""Security cases of issue 6, one test each, against the real API (and the portal's pages
where a secret could leak). Cases tested elsewhere, by the module that owns them:
password guessing → 429 (test_api_auth_tokens), CORS refusing foreign, `null` and look-alike
origins (test_api_conventions), script payloads in descriptions and output rendered inert
(test_portal_catalog, test_portal_launch), entry points outside their pack (test_runners_shell).
"""

import logging
import os
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from st2bridge.models import ApiKey, Execution, KeyValuePair, StreamEvent, Token

from .catalog_support import register_bundled_packs
from .conftest import login
from .portal_support import browser
from .worker_support import run_to_completion

PARAM_CANARY = "canary-param-7f3a9c1e"
KV_CANARY = "canary-kv-51d0b2aa"


def launch(api, action, **parameters):
    return api.post(
        "/api/v1/executions", {"action": action, "parameters": parameters}, format="json"
    )


# --- credentials refused on the very next request --------------------------------------------


@pytest.mark.django_db
def test_disabled_and_deleted_keys_are_refused_at_once(alice_api, anon_api):
    disabled = alice_api.post("/api/v1/apikeys", {}, format="json").json()
    deleted = alice_api.post("/api/v1/apikeys", {}, format="json").json()
    for key in (disabled, deleted):
        assert anon_api.get("/api/v1/user", HTTP_ST2_API_KEY=key["key"]).status_code == 200
    body = {**alice_api.get(f"/api/v1/apikeys/{disabled['id']}").json(), "enabled": False}
    assert (
        alice_api.put(f"/api/v1/apikeys/{disabled['id']}", body, format="json").status_code == 200
    )
    assert alice_api.delete(f"/api/v1/apikeys/{deleted['id']}").status_code == 204
    for key in (disabled, deleted):
        assert anon_api.get("/api/v1/user", HTTP_ST2_API_KEY=key["key"]).status_code == 401


@pytest.mark.django_db
def test_expired_token_is_refused(alice, anon_api):
    token = login("alice").json()["token"]
    assert anon_api.get("/api/v1/user", HTTP_X_AUTH_TOKEN=token).status_code == 200
    Token.objects.filter(user=alice).update(expiry=timezone.now() - timedelta(seconds=1))
    response = anon_api.get("/api/v1/user", HTTP_X_AUTH_TOKEN=token)
    assert response.status_code == 401
    assert token not in response.content.decode()


@pytest.mark.django_db
def test_deactivated_user_is_refused_with_token_and_key(alice, alice_api, anon_api):
    token = login("alice").json()["token"]
    key = alice_api.post("/api/v1/apikeys", {}, format="json").json()["key"]
    alice.is_active = False
    alice.save()
    assert anon_api.get("/api/v1/user", HTTP_X_AUTH_TOKEN=token).status_code == 401
    assert anon_api.get("/api/v1/user", HTTP_ST2_API_KEY=key).status_code == 401


# --- other people's things -----------------------------------------------------------------


@pytest.fixture
def bobs_things(bob_api):
    register_bundled_packs()
    execution = launch(bob_api, "core.noop").json()
    key = bob_api.post("/api/v1/apikeys", {"metadata": {"name": "bob's"}}, format="json").json()
    value = {"name": "bobs_secret", "value": "x", "scope": "st2kv.user", "secret": True}
    assert bob_api.put("/api/v1/keys/bobs_secret", value, format="json").status_code == 200
    return {"execution": execution["id"], "key": key["id"]}


@pytest.mark.django_db
def test_another_users_execution_key_and_value_are_out_of_reach(alice_api, bobs_things):
    gets = [
        f"/api/v1/executions/{bobs_things['execution']}",
        f"/api/v1/executions/{bobs_things['execution']}/output",
        f"/api/v1/apikeys/{bobs_things['key']}",
        "/api/v1/keys/bobs_secret?scope=st2kv.user",
        "/api/v1/keys/bobs_secret?scope=st2kv.user&user=bob",
    ]
    for path in gets:
        assert alice_api.get(path).status_code in (403, 404), path
    assert alice_api.delete(f"/api/v1/executions/{bobs_things['execution']}").status_code in (
        403,
        404,
    )
    assert alice_api.delete(f"/api/v1/apikeys/{bobs_things['key']}").status_code in (403, 404)
    assert ApiKey.objects.filter(id=bobs_things["key"]).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "",
        "?user=bob",
        "?sort=password",
        "?user__regex=.*",
        "?user__in=alice,bob",
        "?scope=all",
        "?scope=st2kv.user&user=bob",
        "?include_attributes=user__password",
    ],
)
def test_lists_never_show_another_users_things(alice_api, bobs_things, query):
    for path in ("/api/v1/executions", "/api/v1/apikeys", "/api/v1/keys"):
        response = alice_api.get(path + query)
        assert response.status_code in (200, 400, 403), (path, query, response.content)
        text = response.content.decode()
        assert bobs_things["execution"] not in text, (path, query)
        assert bobs_things["key"] not in text, (path, query)
        assert "bobs_secret" not in text, (path, query)
        assert "pbkdf2" not in text and "md5$" not in text  # no password hash, whatever asked


# --- a canary secret appears nowhere ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_canary_secrets_never_leave_the_server(portal, alice, caplog):
    caplog.set_level(logging.DEBUG)
    api = Client()  # the API through Django's test client, with alice's token
    token = login("alice").json()["token"]
    auth = {"HTTP_X_AUTH_TOKEN": token}
    kv = {"name": "canary_kv", "value": KV_CANARY, "scope": "st2kv.user", "secret": True}
    put = api.put("/api/v1/keys/canary_kv", kv, content_type="application/json", **auth)
    assert put.status_code == 200
    parameters = {"environment": "staging", "version": "1.0", "api_token": PARAM_CANARY}
    body = {"action": "demo.deploy", "parameters": parameters}
    created = api.post("/api/v1/executions", body, content_type="application/json", **auth)
    assert created.status_code == 201, created.content
    execution_id = created.json()["id"]
    assert run_to_completion(execution_id).status == "succeeded"
    bad = {"action": "demo.deploy", "parameters": {**parameters, "replicas": "many"}}
    refused = api.post("/api/v1/executions", bad, content_type="application/json", **auth)
    assert refused.status_code == 400

    seen = [created.content, refused.content, put.content]
    for path in (
        "/api/v1/executions",
        f"/api/v1/executions/{execution_id}",
        f"/api/v1/executions/{execution_id}/output",
        "/api/v1/keys?scope=st2kv.user",
        "/api/v1/keys/canary_kv?scope=st2kv.user",
    ):
        response = api.get(path, **auth)
        assert response.status_code == 200, path
        seen.append(response.content)
    pages = browser("alice")
    for path in (f"/executions/{execution_id}", "/actions/demo.deploy", "/executions"):
        response = pages.get(path)
        if response.status_code != 404:  # the history page may not exist yet
            assert response.status_code == 200, path
            seen.append(response.content)
    seen += [str(event.data).encode() for event in StreamEvent.objects.all()]
    seen.append(caplog.text.encode())
    assert any(b"deploy" in item for item in seen)  # the net caught something
    for item in seen:
        assert PARAM_CANARY.encode() not in item
        assert KV_CANARY.encode() not in item
    # ... while the server keeps them, encrypted, for the run itself.
    stored = Execution.objects.get(id=execution_id)
    assert stored.secret_parameters and PARAM_CANARY not in stored.secret_parameters
    assert KV_CANARY not in KeyValuePair.objects.get(name="canary_kv").value


# --- CSRF on every portal form -----------------------------------------------------------


def portal_paths():
    """Every portal route (not the API, not Django's admin), with sample path arguments."""
    sample = {"ref": "core.local", "execution_id": "0" * 24, "id": "0" * 24}
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            continue  # the embedded API (token auth, no cookies) and /admin/
        assert isinstance(pattern, URLPattern)
        route = str(pattern.pattern)
        for name in pattern.pattern.regex.groupindex:
            route = route.replace(f"<str:{name}>", sample.get(name, "x"))
            route = route.replace(f"<{name}>", sample.get(name, "x"))
            route = route.replace(f"<int:{name}>", "1")
        yield "/" + route


@pytest.mark.django_db(transaction=True)
def test_every_portal_post_needs_the_csrf_token(portal, alice):
    signed_in = browser("alice")
    signed_in.handler.enforce_csrf_checks = True
    paths = list(portal_paths())
    assert "/login" in paths and "/logout" in paths
    for path in paths:
        response = signed_in.post(path, {"name": "x"})
        assert response.status_code in (403, 405), (path, response.status_code)
    assert signed_in.get("/packs").status_code == 200  # still signed in: nothing was done


# --- bodies, paths and parameters ---------------------------------------------------------


@pytest.mark.django_db
def test_a_ten_mebibyte_body_is_413(alice_api):
    body = '{"metadata": {"x": "' + "a" * (10 * 1024 * 1024) + '"}}'
    response = alice_api.post("/api/v1/apikeys", data=body, content_type="application/json")
    assert response.status_code == 413
    assert "faultstring" in response.json()
    assert not ApiKey.objects.exists()


@pytest.mark.django_db(transaction=True)  # the worker runs in threads
@pytest.mark.parametrize("entry_point", ["../../../../etc/passwd", "/etc/passwd", "../core/x"])
def test_entry_points_outside_the_pack_never_run(admin_api, entry_point):
    register_bundled_packs()
    action = {
        "name": "escape",
        "pack": "demo",
        "runner_type": "local-shell-script",
        "entry_point": entry_point,
    }
    created = admin_api.post("/api/v1/actions", action, format="json")
    if created.status_code == 400:
        assert "entry_point" in created.json()["faultstring"]
        return
    execution = launch(admin_api, "demo.escape").json()
    done = run_to_completion(execution["id"])
    assert done.status == "failed"
    assert "root:" not in str(done.result)


@pytest.mark.django_db(transaction=True)  # the worker runs in threads
def test_shell_metacharacters_in_parameters_are_never_executed(alice_api, shared_tmp):
    register_bundled_packs()
    marker = shared_tmp / "pwned"
    payloads = [f"$(touch {marker})", f"`touch {marker}`", f"; touch {marker}", f"| touch {marker}"]
    parameters = {
        "environment": "staging",
        "version": "1.0",
        "services": payloads,
        "options": {"note": payloads[0]},
        "hosts": [{"host": payloads[1], "port": 22}],
    }
    execution = launch(alice_api, "demo.deploy", **parameters).json()
    done = run_to_completion(execution["id"])
    assert done.status == "succeeded", done.result
    assert not marker.exists()
    assert f"$(touch {marker})" in done.result["stdout"]  # passed on as plain text


@pytest.mark.django_db(transaction=True)  # the worker runs in threads
def test_http_action_parameters_are_not_a_shell(alice_api, shared_tmp):
    register_bundled_packs()
    marker = shared_tmp / "pwned-http"
    url = f"http://127.0.0.1:9/$(touch {marker})"
    execution = launch(alice_api, "core.http", url=url, timeout=2).json()
    run_to_completion(execution["id"])
    assert not marker.exists()
    assert not os.path.exists(str(marker))
