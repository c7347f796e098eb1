"""st2bridge.params and templates: what a template is (the one definition, which the portal's
rule editor and rule dispatch use too), and launch values rendered with the caller's renderer
(params is pure: the renderer that reads the datastore is st2bridge.templating's)."""

import pytest

from st2bridge.params import holds_template, is_template, prepare_values
from st2bridge.templating import render

MERGED = {
    "name": {"type": "string", "default": "world"},
    "greeting": {"type": "string", "default": "hello {{ name }}"},
    "count": {"type": "integer"},
    "note": {"type": "string"},
}


@pytest.mark.parametrize("value", ["{{ trigger.body }}", "x {% if a %}y{% endif %}", "{{"])
def test_text_with_jinja_markers_is_a_template(value):
    assert is_template(value)


@pytest.mark.parametrize("value", ["plain", "{ not jinja }", "", None, 5, ["{{ x }}"], {"a": 1}])
def test_anything_else_is_not_a_template(value):
    assert not is_template(value)


def test_a_value_holds_a_template_at_any_depth():
    assert holds_template({"a": [1, {"b": "{{ trigger.x }}"}]})
    assert holds_template(["plain", "{% raw %}"])
    assert not holds_template({"a": [1, {"b": "plain"}], "c": None})


def test_template_defaults_and_given_values_render_with_the_callers_renderer():
    given = {"name": "ann", "count": "3", "note": "from {{ who }}"}
    shown, final = prepare_values(MERGED, given, {"who": "bob"}, render=render)
    assert shown == {"name": "ann", "count": 3, "note": "from bob", "greeting": "hello ann"}
    assert final == shown


def test_values_named_as_data_are_never_rendered():
    shown, _ = prepare_values(MERGED, {"name": "{{ raw }}"}, {}, data=("name",), render=render)
    assert shown["name"] == "{{ raw }}"
    assert shown["greeting"] == "hello {{ raw }}"  # the default renders, once, with the data


def test_the_renderer_is_the_callers_choice():
    def shout(template, context, label):
        return f"{label}={template.upper()}"

    shown, _ = prepare_values(MERGED, {}, {}, render=shout)
    assert shown == {"greeting": "greeting=HELLO {{ NAME }}"}
