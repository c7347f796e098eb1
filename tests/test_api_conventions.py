"""Conventions on every API response: 404s, trailing slashes, CORS, OPTIONS, request ids,
body size and body parsing (notes §1)."""

import pytest

pytestmark = pytest.mark.django_db


def test_unknown_route_is_json_404_before_auth(anon_api):
    for path in ("/api/v1/nothing-here", "/api/v2/user", "/auth/v1/nope", "/stream/v1/x"):
        response = anon_api.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"faultstring": "The resource could not be found."}


def test_unsupported_method_on_known_path_is_404(anon_api, alice_api):
    assert anon_api.patch("/api/v1/user").status_code == 404
    assert alice_api.delete("/api/v1/user").status_code == 404


def test_head_is_404_everywhere_as_stackstorm_routes(alice_api, anon_api):
    for path in ("/api/v1", "/api/v1/actions", "/api/v1/executions", "/stream/v1/stream"):
        response = alice_api.head(path)
        assert response.status_code == 404, path
    assert anon_api.head("/auth/v1/tokens").status_code == 404
    assert anon_api.head("/api/v1/no-such-thing").status_code == 404


def test_trailing_slash_optional_without_redirect(alice_api):
    assert alice_api.get("/api/v1/user/").status_code == 200
    assert alice_api.get("/api/v1/apikeys/").status_code == 200


def test_request_id_echoed_or_generated(anon_api):
    echoed = anon_api.get("/api/v1/user", HTTP_X_REQUEST_ID="abc-123")
    assert echoed["X-Request-ID"] == "abc-123"
    generated = anon_api.get("/api/v1/user")
    assert len(generated["X-Request-ID"]) == 36
    hostile = anon_api.get("/api/v1/user", HTTP_X_REQUEST_ID="<script>")
    assert hostile["X-Request-ID"] != "<script>"


def test_options_answered_without_auth(anon_api):
    response = anon_api.options("/api/v1/actions")
    assert response.status_code == 200


def test_cors_allows_only_listed_origins(anon_api, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://portal.example.com"]
    preflight = anon_api.options(
        "/api/v1/user",
        HTTP_ORIGIN="https://portal.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-auth-token",
    )
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == "https://portal.example.com"
    assert preflight["Access-Control-Allow-Credentials"] == "true"
    assert "x-auth-token" in preflight["Access-Control-Allow-Headers"]
    listed = anon_api.get("/api/v1/user", HTTP_ORIGIN="https://portal.example.com")
    assert listed["Access-Control-Allow-Origin"] == "https://portal.example.com"
    assert "X-Total-Count" in listed["Access-Control-Expose-Headers"]
    for origin in ("https://evil.example.com", "null", "https://portal.example.com.evil.io"):
        response = anon_api.get("/api/v1/user", HTTP_ORIGIN=origin)
        assert "Access-Control-Allow-Origin" not in response, origin


def test_oversized_body_is_413(alice_api, settings):
    settings.ST2_MAX_BODY_BYTES = 1024
    response = alice_api.post(
        "/api/v1/apikeys", data="{" + " " * 2000 + "}", content_type="application/json"
    )
    assert response.status_code == 413
    assert "faultstring" in response.json()


def test_body_parsing_errors(alice_api):
    bad_json = alice_api.post("/api/v1/apikeys", data="{nope", content_type="application/json")
    assert bad_json.status_code == 400
    assert bad_json.json()["faultstring"].startswith("Failed to parse request body")
    odd_type = alice_api.post("/api/v1/apikeys", data="x", content_type="foo/invalid")
    assert odd_type.json()["faultstring"] == (
        'Failed to parse request body: Unsupported Content-Type: "foo/invalid"'
    )
    array = alice_api.post("/api/v1/apikeys", data="[]", content_type="application/json")
    assert array.json()["faultstring"] == "Input body needs to be an object, got: array"


def test_bad_boolean_query_parameter(alice_api):
    response = alice_api.get("/api/v1/apikeys?show_secrets=maybe")
    assert response.status_code == 400
    assert response.json()["faultstring"] == 'Parameter "show_secrets" is not of type boolean'


def test_settings_use_sqlite_wal_and_immediate_transactions(settings):
    options = settings.DATABASES["default"].get("OPTIONS", {})
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        assert options["transaction_mode"] == "IMMEDIATE"
        assert "journal_mode=WAL" in options["init_command"]
        assert options["timeout"] >= 5


def test_json_whatever_the_accept_header(alice_api):
    response = alice_api.get("/api/v1/user", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")


# Found by schemathesis (scripts/fuzz-api): each was a 500 or an HTML answer before.


def test_nul_characters_in_the_url_are_400(alice_api):
    response = alice_api.get("/api/v1/actions", {"name": "a\x00b"})
    assert response.status_code == 400
    assert "NUL" in response.json()["faultstring"]


@pytest.mark.parametrize("text", ['"\\ud800"', '"a\\u0000b"'])
def test_unstorable_strings_in_a_body_are_400(alice_api, text):
    body = '{"metadata": {"note": ' + text + "}}"
    response = alice_api.post("/api/v1/apikeys", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "body.metadata.note" in response.json()["faultstring"]


def test_huge_limit_or_offset_is_400(alice_api):
    for name in ("limit", "offset"):
        response = alice_api.get("/api/v1/executions", {name: str(10**30)})
        assert response.status_code == 400
        assert name in response.json()["faultstring"].lower()  # 'Offset "1..." ...' as st2


def test_importing_an_existing_key_hash_is_409(admin_api):
    created = admin_api.post("/api/v1/apikeys", {"key_hash": "a" * 64}, format="json")
    assert created.status_code == 201
    again = admin_api.post("/api/v1/apikeys", {"key_hash": "a" * 64}, format="json")
    assert again.status_code == 409
    assert again.json()["conflict-id"] == created.json()["id"]


def test_a_ttl_beyond_a_century_is_400(admin_api):
    body = {"name": "k", "value": "v", "ttl": 10**20}
    response = admin_api.put("/api/v1/keys/k", body, format="json")
    assert response.status_code == 400
    assert "ttl" in response.json()["faultstring"]


def test_unknown_api_paths_with_odd_characters_are_json_404_for_any_method(anon_api):
    response = anon_api.post("/api/v1/webhooks/a%0Ab", {}, format="json")
    assert response.status_code == 404
    assert response.json()["faultstring"]
