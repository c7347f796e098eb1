"""Action aliases (StackStorm's /actionalias): created, replaced and deleted by
administrators, or registered from packs' aliases/*.yaml (st2bridge.pack_extras); seen by
whoever sees their action (st2bridge.access). What a format means is
st2bridge.alias_formats'; running an alias, st2bridge.alias_execution's."""

from . import access, alias_formats
from .bodies import check_body
from .errors import InvalidInput
from .formats import without_nulls
from .models import ActionAlias
from .records import save_or_409

DEFAULT_PACK = "default"
_FORMAT = {"type": "string"}
# StackStorm's ActionAliasAPI schema (id, ref and uid are accepted and recomputed).
ALIAS_SCHEMA = {
    "type": "object",
    "required": ["name", "action_ref"],
    "properties": {
        "id": {"type": "string"},
        "ref": {"type": "string"},
        "uid": {"type": "string"},
        "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[^/\s]+$"},
        "pack": {"type": "string", "pattern": r"^[a-z0-9_]+$"},
        "description": {"type": ["string", "null"]},
        "enabled": {"type": "boolean"},
        "action_ref": {"type": "string", "minLength": 3, "maxLength": 400, "pattern": r"\."},
        "formats": alias_formats.FORMAT_SCHEMA,
        "ack": {
            "type": "object",
            "properties": {
                "enabled": {"type": "boolean"},
                "format": _FORMAT,
                "extra": {"type": "object"},
                "append_url": {"type": "boolean"},
            },
        },
        "result": {
            "type": "object",
            "properties": {
                "enabled": {"type": "boolean"},
                "format": _FORMAT,
                "extra": {"type": "object"},
            },
        },
        "extra": {"type": "object"},
        "immutable_parameters": {"type": "object"},
        "metadata_file": {"type": ["string", "null"]},
    },
    "additionalProperties": False,
}


def create_alias(caller, body):
    access.require_admin(caller, "action_alias_create")
    return _save(ActionAlias(**checked_fields(body, body.get("pack") or DEFAULT_PACK)))


def update_alias(caller, alias, body):
    """A full replacement, as StackStorm's PUT; the pack stays when the body leaves it out."""
    access.require_admin(caller, "action_alias_modify")
    for name, value in checked_fields(body, body.get("pack") or alias.pack).items():
        setattr(alias, name, value)
    return _save(alias)


def delete_alias(caller, alias):
    access.require_admin(caller, "action_alias_delete")
    alias.delete()


def checked_fields(body, pack):
    """The model fields of a valid alias body (schema, formats that are usable patterns)."""
    check_body(body, ALIAS_SCHEMA)
    alias_formats.check_formats(body.get("formats"))
    return {
        "ref": f"{pack}.{body['name']}",
        "pack": pack,
        "name": body["name"],
        "description": body.get("description") or "",
        "enabled": body.get("enabled", True),
        "action_ref": body["action_ref"],
        "formats": body.get("formats") or [],
        "ack": body.get("ack") or {},
        "result": body.get("result") or {},
        "extra": body.get("extra") or {},
        "immutable_parameters": body.get("immutable_parameters") or {},
        "metadata_file": body.get("metadata_file") or "",
    }


def save_alias_from_disk(pack, body, metadata_file):
    """Register an alias of a pack directory (aliases/*.yaml): create, or update in place."""
    fields = checked_fields({**body, "pack": pack, "metadata_file": metadata_file}, pack)
    alias = ActionAlias.objects.filter(ref=fields["ref"]).first() or ActionAlias()
    for name, value in fields.items():
        setattr(alias, name, value)
    return _save(alias)


def _save(alias):
    message = f"Tried to save duplicate unique keys (action alias ref {alias.ref} already exists)"
    return save_or_409(alias, message)


def by_name(caller, name):
    """The alias a POST /aliasexecution names (by name, as StackStorm looks it up; by ref too,
    for two packs' aliases of one name)."""
    aliases = access.visible_aliases(caller)
    found = list(aliases.filter(name=name)[:2]) or list(aliases.filter(ref=name)[:1])
    if len(found) > 1:
        raise InvalidInput(
            f'More than one action alias is named "{name}": name it by its ref (pack.name).'
        )
    return found[0] if found else None


# --- the API shape (st2bridge.shapes.ACTION_ALIAS) -----------------------------------------


def alias_to_api(alias):
    return without_nulls(
        {
            "id": alias.id,
            "uid": f"action_alias:{alias.pack}:{alias.name}",
            "ref": alias.ref,
            "name": alias.name,
            "pack": alias.pack,
            "description": alias.description or None,
            "enabled": alias.enabled,
            "action_ref": alias.action_ref,
            "formats": alias.formats,
            "ack": alias.ack,
            "result": alias.result,
            "extra": alias.extra,
            "immutable_parameters": alias.immutable_parameters,
            "metadata_file": alias.metadata_file or None,
        }
    )
