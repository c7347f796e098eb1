"""GET /api/v1/openapi.json: served to anyone, and it documents every route the API has
(scripts/fuzz-api runs schemathesis with it against a live server)."""

import re

import pytest
import schemathesis

from st2bridge.api import urls

pytestmark = pytest.mark.django_db


def documented_paths(document):
    return set(document["paths"])


def routed_paths():
    """The API's routes as OpenAPI path templates, from the URL patterns themselves."""
    paths = set()
    for pattern in urls.urlpatterns:
        regex = pattern.pattern.regex.pattern
        if "(api|auth|stream)" in regex or "openapi" in regex:
            continue  # the JSON 404 for everything else, and the document itself
        template = re.sub(r"\(\?P<(\w+)>[^)]+\)", r"{\1}", regex)
        template = "/" + template.removeprefix("^").removesuffix("/?$")
        # An optional version (/auth and /stream serve paths with and without it) is two.
        for version in ("v1/", ""):
            paths.add(template.replace("(?:v1/)?", version))
    return paths


def test_document_is_served_without_credentials(anon_api):
    response = anon_api.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["tokenHeader"]["name"] == "X-Auth-Token"


def test_every_route_is_documented_and_nothing_else(anon_api):
    document = anon_api.get("/api/v1/openapi.json").json()
    assert routed_paths() == documented_paths(document)


def test_document_loads_in_schemathesis(anon_api):
    document = anon_api.get("/api/v1/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    launch = next(
        op for op in operations if op.path == "/api/v1/executions" and op.method == "post"
    )
    assert "action" in launch.body[0].definition["schema"]["properties"]


def test_only_get_is_answered(anon_api):
    assert anon_api.post("/api/v1/openapi.json", {}).status_code == 405
