"""The faster JSON of the API's read path gives exactly what Django's and DRF's did: the
renderer (st2bridge/api/renderers.py) the bytes of DRF's JSONRenderer, the JSONField of
packs, actions and executions (st2bridge/fields.py) the values of json.loads."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from st2bridge.api.renderers import ApiJSONRenderer
from st2bridge.fields import JSONField
from st2bridge.models import Execution

from .catalog_support import register_bundled_packs

AWKWARD = [
    {"unicode": "naïve ☃ 日本", "separators": "a\u2028b\u2029c", "nested": [[[{"x": None}]]]},
    {"floats": [0.1, 1e16, -0.0, 3.0, 1.5e300], "ints": [0, -1, 2**63 - 1, -(2**63)]},
    {"bool": [True, False], "empty": [{}, [], ""], "control": '\x00\x1f"\\/'},
    {"when": datetime(2026, 11, 30, 9, 1, 2, 345678, tzinfo=UTC), "delta": timedelta(1)},
    {"decimal": Decimal("1.5"), "lazy": gettext_lazy("Unauthorized"), "tuple": (1, 2)},
    {"huge": 2**70, "negative huge": -(2**80)},  # beyond 64 bits: DRF's encoder renders
    {1: "an integer key", "and": "a string key"},  # non-string keys: DRF's encoder too
]


@pytest.mark.parametrize("data", AWKWARD)
def test_renderer_gives_drf_bytes(data):
    assert ApiJSONRenderer().render(data) == JSONRenderer().render(data)


def test_renderer_writes_small_exponents_unpadded_but_the_same_numbers():
    """The one difference: Python pads an exponent to two digits (1e-07), orjson does not
    (1e-7). Both are JSON for the same number."""
    data = {"small": [1e-7, 2.5e-9]}
    assert ApiJSONRenderer().render(data) == b'{"small":[1e-7,2.5e-9]}'
    assert json.loads(ApiJSONRenderer().render(data)) == json.loads(JSONRenderer().render(data))


def test_renderer_gives_drf_bytes_for_nothing():
    assert ApiJSONRenderer().render(None) == JSONRenderer().render(None) == b""


def test_renderer_refuses_what_drf_refuses():
    """An object neither encoder knows is still an error (a 500), not silently dropped."""
    with pytest.raises(TypeError):
        ApiJSONRenderer().render({"object": object()})


STORED = [
    '{"a": 1, "b": [1.5, "x", null, true, false]}',
    '{"big": 123456789012345678901234567890, "bigger": -99999999999999999999}',
    '{"nan": NaN, "inf": Infinity, "minus": -Infinity}',  # json.dumps writes these
    '"\\ud800 a lone surrogate"',
    '{"dup": 1, "dup": 2}',
    '{"unicode": "\\u00e9\\u2603", "nul": "\\u0000"}',
    "[1e400, 1E2, -0, 0.1]",
]


@pytest.mark.parametrize("text", STORED)
def test_json_field_reads_what_json_loads_reads(text):
    field = JSONField()
    found = field.from_db_value(text, None, connection)
    expected = json.loads(text)
    assert json.dumps(found) == json.dumps(expected)  # NaN != NaN, but prints the same
    assert [type(v) for v in _leaves(found)] == [type(v) for v in _leaves(expected)]


def _leaves(value):
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def test_json_field_keeps_django_migrations():
    assert JSONField().deconstruct()[1] == "django.db.models.JSONField"


@pytest.mark.django_db
def test_an_execution_result_with_a_huge_integer_reads_back_exact(alice_api):
    register_bundled_packs()
    launched = alice_api.post("/api/v1/executions", {"action": "core.noop"}, format="json")
    Execution.objects.filter(id=launched.json()["id"]).update(result={"n": 2**70})
    body = alice_api.get(f"/api/v1/executions/{launched.json()['id']}").content
    assert b'"result":{"n":1180591620717411303424}' in body
