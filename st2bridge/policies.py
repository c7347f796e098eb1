"""Policies and policy types (StackStorm's /policies and /policytypes). The policy types are
StackStorm's core ones (policy_types.yaml), the same on every server; policies come from
packs' policies/*.yaml (st2bridge.pack_extras) or from administrators through the API, are
checked against their type and kept with the type's defaults filled in, as StackStorm keeps
them. They are shown, not enforced yet: no policy delays, cancels or retries an execution
here (README, Policies). Who sees which policy is st2bridge.access's."""

from functools import cache
from pathlib import Path

import yaml

from . import access, params
from .bodies import check_body
from .errors import InvalidInput, NotFound
from .formats import fixed_id, without_nulls
from .models import Policy
from .records import save_or_409

POLICY_TYPES_FILE = Path(__file__).with_name("policy_types.yaml")
DEFAULT_PACK = "default"
# StackStorm's PolicyAPI (id, ref and uid are accepted and recomputed).
POLICY_SCHEMA = {
    "type": "object",
    "required": ["name", "resource_ref", "policy_type"],
    "properties": {
        "id": {"type": ["string", "null"]},
        "ref": {"type": "string"},
        "uid": {"type": "string"},
        "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[^/\s]+$"},
        "pack": {"type": "string", "pattern": r"^[a-z0-9_]+$"},
        "description": {"type": ["string", "null"]},
        "enabled": {"type": "boolean"},
        "resource_ref": {"type": "string", "minLength": 1, "maxLength": 400},
        "policy_type": {"type": "string", "minLength": 1},
        "parameters": {
            "type": "object",
            "patternProperties": {r"^\w+$": {}},
            "additionalProperties": False,
        },
        "metadata_file": {"type": ["string", "null"]},
    },
    "additionalProperties": False,
}


# --- policy types ----------------------------------------------------------------------------


@cache
def policy_types():
    """StackStorm's core policy types, in its order (resource_type, name), as API dicts."""
    found = []
    for spec in yaml.safe_load(POLICY_TYPES_FILE.read_text()):
        ref = f"{spec['resource_type']}.{spec['name']}"
        found.append(
            {
                "id": fixed_id(f"policy_type:{ref}"),
                "uid": f"policy_type:{spec['resource_type']}:{spec['name']}",
                "ref": ref,
                **spec,
            }
        )
    return tuple(sorted(found, key=lambda item: (item["resource_type"], item["name"])))


def find_policy_type(ref_or_id):
    """A policy type by ref (resource_type.name) or id; everyone sees them."""
    for policy_type in policy_types():
        if ref_or_id in (policy_type["ref"], policy_type["id"]):
            return policy_type
    raise NotFound(f'PolicyType with a reference of id "{ref_or_id}" not found.')


def filtered_policy_types(resource_type=None, names=(), ids=()):
    return [
        policy_type
        for policy_type in policy_types()
        if (not resource_type or policy_type["resource_type"] == resource_type)
        and (not names or policy_type["name"] in names)
        and (not ids or policy_type["id"] in ids)
    ]


# --- policies --------------------------------------------------------------------------------


def create_policy(caller, body):
    access.require_admin(caller, "policy_create")
    return _save(Policy(**checked_fields(body, body.get("pack") or DEFAULT_PACK)))


def update_policy(caller, policy, body):
    """A full replacement (StackStorm's PUT); the pack stays when the body leaves it out."""
    access.require_admin(caller, "policy_modify")
    access.refuse_system_pack(policy.pack)
    for name, value in checked_fields(body, body.get("pack") or policy.pack).items():
        setattr(policy, name, value)
    return _save(policy)


def delete_policy(caller, policy):
    access.require_admin(caller, "policy_delete")
    access.refuse_system_pack(policy.pack)
    policy.delete()


def save_policy_from_disk(pack, body, metadata_file):
    """Register a policy of a pack directory (policies/*.yaml): create, or update in place."""
    fields = checked_fields({**body, "pack": pack, "metadata_file": metadata_file}, pack)
    policy = Policy.objects.filter(ref=fields["ref"]).first() or Policy()
    for name, value in fields.items():
        setattr(policy, name, value)
    return _save(policy)


def checked_fields(body, pack):
    """The model fields of a valid policy: its type exists, its parameters fit the type (its
    defaults filled in)."""
    check_body(body, POLICY_SCHEMA)
    try:
        policy_type = find_policy_type(body["policy_type"])
    except NotFound:
        raise InvalidInput(f'Referenced policy_type "{body["policy_type"]}" doesnt exist') from None
    declared = policy_type.get("parameters") or {}
    given = body.get("parameters") or {}
    params.check_overrides(declared, given)
    values = params.with_defaults(declared, given)
    params.check_values(declared, values)
    return {
        "ref": f"{pack}.{body['name']}",
        "pack": pack,
        "name": body["name"],
        "description": body.get("description") or "",
        "enabled": body.get("enabled", True),
        "resource_ref": body["resource_ref"],
        "policy_type": policy_type["ref"],
        "parameters": values,
        "metadata_file": body.get("metadata_file") or "",
    }


def _save(policy):
    message = f"Tried to save duplicate unique keys (policy ref {policy.ref} already exists)"
    return save_or_409(policy, message)


# --- the API shapes (st2bridge.shapes.POLICY_TYPE, POLICY) ----------------------------------


def policy_type_to_api(policy_type):
    return dict(policy_type)


def policy_to_api(policy):
    return without_nulls(
        {
            "id": policy.id,
            "uid": f"policy:{policy.pack}:{policy.name}",
            "ref": policy.ref,
            "name": policy.name,
            "pack": policy.pack,
            "description": policy.description or None,
            "enabled": policy.enabled,
            "resource_ref": policy.resource_ref,
            "policy_type": policy.policy_type,
            "parameters": policy.parameters,
            "metadata_file": policy.metadata_file or None,
        }
    )
