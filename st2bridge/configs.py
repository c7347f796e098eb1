"""Pack configs (notes §9): a pack's config.schema.yaml, registered with the pack, and its
config, loaded from <ST2_CONFIGS_DIR>/<pack>.yaml and editable through the API
(/api/v1/configs, /api/v1/config_schemas). What a schema means (masking, defaults,
validation, dynamic values) is st2bridge.config_schema's; this module stores and serves.

Storage: secrets are encrypted at rest with the datastore key (st2bridge.datastore), as
secret execution parameters are: PackConfig.values holds the config with every secret item
masked, sealed_values the whole config encrypted. A config file is loaded again only when its
content changed since it was last loaded (PackConfig.file_hash), so a change made through
the API survives the next registration, until someone edits the file. The API does not write
the file: that would leave the secrets in plaintext on disk.

Who: everyone sees the configs and schemas of the packs they see (st2bridge.access), secrets
masked; only administrators change a config (403, StackStorm's "pack_config") and see its
secrets (?show_secrets=true).

At run time (runtime_config) a config is what StackStorm gives a Python action as
`self.config` and parameter templates as `config_context`: the stored values, their
`{{ st2kv... }}` templates rendered for the execution's user (secret items decrypted without
`decrypt_kv`, as StackStorm does; the config is an administrator's, so system secrets
decrypt), then the schema's defaults.
"""

import functools
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from cryptography.fernet import InvalidToken
from django.conf import settings
from django.db import transaction

from . import access, audit, config_schema, datastore
from .errors import InvalidInput, NotFound
from .models import ConfigSchema, Pack, PackConfig
from .templating import datastore_context, render

log = logging.getLogger(__name__)

SCHEMA_FILE = "config.schema.yaml"


def _missing(pack):
    return NotFound(f'Unable to identify resource with pack_ref "{pack}".')


# --- registration -------------------------------------------------------------------------


def register_schema(pack, root, errors):
    """The config.schema.yaml of the pack in `root`, saved (or forgotten when the pack has
    none). A file that is unreadable or not a schema is reported in `errors` and the schema
    registered before, if any, is kept."""
    root = Path(root).resolve()
    path = root / SCHEMA_FILE
    if not path.is_file():
        ConfigSchema.objects.filter(pack=pack).delete()
        return
    try:
        if not path.resolve().is_relative_to(root):
            raise InvalidInput("refused: it resolves outside the pack directory")
        attributes = _read_yaml(path.read_bytes()) or {}
        config_schema.check_schema(attributes)
        attributes = {name: spec or {} for name, spec in attributes.items()}  # empty: any type
    except (OSError, InvalidInput) as error:
        errors.append((path, getattr(error, "message", None) or str(error)))
        return
    saved, created = ConfigSchema.objects.get_or_create(
        pack=pack, defaults={"attributes": attributes}
    )
    if not created and saved.attributes != attributes:
        saved.attributes = attributes
        saved.save(update_fields=["attributes"])
        _reseal(pack, attributes)


def _reseal(pack, attributes):
    """The stored config masked again after its schema changed (an item may have become
    secret, or stopped being one)."""
    config = PackConfig.objects.filter(pack=pack).first()
    if config is not None:
        _save(pack, stored_values(config), attributes)


def load_config_files(errors):
    """<ST2_CONFIGS_DIR>/<pack>.yaml of every registered pack, loaded when its content
    changed since it was last loaded. A file that is unreadable or does not fit the pack's
    schema is reported in `errors`, as (path, reason naming the attribute), and not loaded.
    Returns how many configs were loaded."""
    directory = Path(settings.ST2_CONFIGS_DIR)
    if not directory.is_dir():
        return 0
    loaded = 0
    for pack in Pack.objects.values_list("ref", flat=True):
        path = directory / f"{pack}.yaml"
        if not path.is_file():
            continue
        try:
            loaded += _load_config_file(pack, path)
        except (OSError, InvalidInput) as error:
            errors.append((path, getattr(error, "message", None) or str(error)))
    return loaded


def _load_config_file(pack, path):
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    config = PackConfig.objects.filter(pack=pack).first()
    if config is not None and config.file_hash == digest:
        return 0
    values = _read_yaml(raw)
    values = {} if values is None else values
    attributes = schema_of(pack)
    config_schema.check_values(pack, attributes, values)
    _save(pack, values, attributes, file_hash=digest)
    log.info("Loaded the config of pack %s from %s", pack, path)
    return 1


def _read_yaml(raw):
    """A YAML document as JSON-safe data (dates as text); InvalidInput with the line."""
    try:
        data = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506  # nosec B506
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise InvalidInput(f"{where}{error.problem or error.context or 'invalid YAML'}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise InvalidInput(f"not valid YAML: {error}") from None
    try:
        return json.loads(json.dumps(data, default=str, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"cannot be stored as JSON: {error}") from None


# --- storage ------------------------------------------------------------------------------


def schema_of(pack):
    return ConfigSchema.objects.filter(pack=pack).values_list("attributes", flat=True).first() or {}


def stored_values(config):
    """The config's values as given, secrets included (decrypted)."""
    if not config.sealed_values:
        return dict(config.values)
    try:
        return json.loads(datastore.decrypt(config.sealed_values))
    except (InvalidToken, UnicodeError):
        log.error("The config of pack %s cannot be decrypted with the current key", config.pack)
        raise datastore.UndecryptableValue(
            f'Failed to decrypt the config of pack "{config.pack}": the datastore key has changed.'
        ) from None


def _save(pack, values, attributes, file_hash=None):
    shown = config_schema.mask(values, attributes)
    fields = {
        "values": shown,
        "sealed_values": datastore.encrypt(json.dumps(values)) if shown != values else "",
    }
    if file_hash is not None:
        fields["file_hash"] = file_hash
    config, _ = PackConfig.objects.update_or_create(pack=pack, defaults=fields)
    return config


# --- the API ------------------------------------------------------------------------------


def visible_configs(caller):
    return PackConfig.objects.filter(pack__in=access.visible_packs(caller).values("ref"))


def visible_schemas(caller):
    return ConfigSchema.objects.filter(pack__in=access.visible_packs(caller).values("ref"))


def _visible_pack(caller, pack):
    if not access.visible_packs(caller).filter(ref=pack).exists():
        raise _missing(pack)


def find_config(caller, pack):
    _visible_pack(caller, pack)
    config = PackConfig.objects.filter(pack=pack).first()
    if config is None:
        raise _missing(pack)
    return config


def find_schema(caller, pack):
    _visible_pack(caller, pack)
    schema = ConfigSchema.objects.filter(pack=pack).first()
    if schema is None:
        raise _missing(pack)
    return schema


def set_config(caller, pack, values):
    """PUT /configs/<pack>: the whole config replaced by `values`, checked against the
    pack's schema. A secret item sent back masked keeps its stored value."""
    access.require_admin(caller, "pack_config")
    _visible_pack(caller, pack)
    attributes = schema_of(pack)
    existing = PackConfig.objects.filter(pack=pack).first()
    stored = stored_values(existing) if existing is not None else {}
    values = config_schema.keep_masked(values, stored, attributes)
    config_schema.check_values(pack, attributes, values)
    with transaction.atomic():
        config = _save(pack, values, attributes)
        shown = [config_schema.mask(c.values, attributes) if c else {} for c in (existing, config)]
        audit.record(caller, "config.set", "config", pack, audit.diff(*shown, stored, values))
    log.info("Config of pack %s set by %s", pack, caller.username)
    return config


def config_to_api(config, unmasked=False, attributes=None):
    """StackStorm's config object: {"id", "pack", "values"}, secrets masked unless
    `unmasked` (administrators who ask for them)."""
    if unmasked:
        values = stored_values(config)
    else:
        schema = schema_of(config.pack) if attributes is None else attributes
        values = config_schema.mask(config.values, schema)
    return {"id": config.id, "pack": config.pack, "values": values}


def schema_to_api(schema):
    return {"id": schema.id, "pack": schema.pack, "attributes": schema.attributes}


def schemas_by_pack(packs):
    return dict(ConfigSchema.objects.filter(pack__in=packs).values_list("pack", "attributes"))


# --- at run time --------------------------------------------------------------------------


@dataclass
class RuntimeConfig:
    values: dict = field(default_factory=dict)  # self.config, config_context
    attributes: dict = field(default_factory=dict)

    @property
    def secrets(self):
        """Texts of the secret values, longest first (to scrub from output)."""
        return config_schema.secret_texts(self.values, self.attributes)

    def masked(self):
        """config_context for templates a non-administrator wrote: secrets masked."""
        return config_schema.mask(self.values, self.attributes)


def runtime_config(pack, username):
    """The config a Python action of `pack` gets as self.config, and parameter templates as
    config_context, for an execution of `username`: stored values, dynamic values rendered,
    then the schema's defaults. InvalidInput names the item whose template fails."""
    config = PackConfig.objects.filter(pack=pack).first()
    attributes = schema_of(pack)
    values = stored_values(config) if config is not None else {}
    render_one = functools.partial(_render_item, pack, username)
    values = config_schema.render_dynamic(values, attributes, render_one)
    return RuntimeConfig(config_schema.with_defaults(attributes, values), attributes)


def _render_item(pack, username, key, template, secret):
    context = datastore_context(username, system_decrypt=True, decrypted=secret)
    try:
        text = render(template, context, key)
    except InvalidInput as error:
        raise InvalidInput(
            f'Failed to render dynamic configuration value for key "{key}" with value '
            f'"{template}" for pack "{pack}" config: {error.message}'
        ) from None
    return text or None
