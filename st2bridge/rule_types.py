"""Rule types (StackStorm's /ruletypes): `standard`, and `backstop`, which fires only when no
standard rule of the trigger matched. The same two on every server, so they are constants,
with ids derived from their names (formats.fixed_id)."""

from .errors import NotFound
from .formats import fixed_id

RULE_TYPES = tuple(
    {"id": fixed_id(f"rule_type:{name}"), "name": name, "description": description,
     "enabled": True, "parameters": {}}
    for name, description in (
        ("standard", "standard rule that is always applicable."),
        ("backstop", "Rule that applies when no other rule has matched for a specific Trigger."),
    )
)  # fmt: skip


def find_rule_type(id_or_name):
    """A rule type by id (as StackStorm looks it up) or by name."""
    for rule_type in RULE_TYPES:
        if id_or_name in (rule_type["id"], rule_type["name"]):
            return rule_type
    raise NotFound(f'Database lookup for id="{id_or_name}" resulted in exception.')


def rule_type_to_api(rule_type):
    return dict(rule_type)
