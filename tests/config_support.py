"""A pack with a config schema of every kind (types, defaults, required, secrets, a nested
object, an array of objects with a secret), written where the action user can read it, and
registered by the real loader; for the configs API, runtime and portal tests."""

import textwrap

from django.conf import settings

from st2bridge.packs import register_packs

SCHEMA = """\
api_url:
  type: string
  description: Base URL of the service
  required: true
  default: https://api.example
api_token:
  type: string
  description: Token for the service
  secret: true
  required: true
port:
  type: integer
  default: 443
region:
  type: string
  enum: [eu, us]
  default: eu
verbose:
  type: boolean
  default: false
auth:
  type: object
  properties:
    username:
      type: string
      required: true
    password:
      type: string
      secret: true
    timeout:
      type: integer
      default: 30
accounts:
  type: array
  items:
    type: object
    properties:
      name:
        type: string
        required: true
      password:
        type: string
        secret: true
      port:
        type: integer
        default: 465
"""

SHOW_CONFIG = """\
from st2common.runners.base_action import Action


class ShowConfig(Action):
    def run(self):
        print("token:", self.config.get("api_token"))
        token = self.config.get("api_token") or ""
        return {"config": self.config, "token_reversed": token[::-1]}
"""

ACTIONS = {
    "show_config.yaml": """\
name: show_config
runner_type: python-script
entry_point: show_config.py
""",
    "show_config.py": SHOW_CONFIG,
    "contexts.yaml": """\
name: contexts
runner_type: noop
parameters:
  url:
    type: string
    default: "{{ config_context.api_url }}/v1"
  token:
    type: string
    secret: true
    default: "{{ config_context.api_token }}"
  who:
    type: string
    default: "{{ action_context.user }} in {{ action_context.pack }}"
  requester:
    type: string
    default: "{{ action_context.api_user|default(None) }}"
  note:
    type: string
""",
}

VALUES = {
    "api_token": "tok-s3cret-1",
    "port": 8443,
    "auth": {"username": "svc", "password": "pw-s3cret-2"},
    "accounts": [{"name": "first", "password": "pw-s3cret-3"}, {"name": "second"}],
}
SECRETS = ("tok-s3cret-1", "pw-s3cret-2", "pw-s3cret-3")


def write_config_pack(base, schema=SCHEMA, name="cfg"):
    pack = base / name
    (pack / "actions").mkdir(parents=True)
    (pack / "pack.yaml").write_text(
        f"name: {name}\ndescription: Configured.\nversion: 1.0.0\nauthor: someone\n"
    )
    (pack / "config.schema.yaml").write_text(textwrap.dedent(schema))
    for file_name, text in ACTIONS.items():
        (pack / "actions" / file_name).write_text(text)
    return pack


def register_with(*pack_dirs):
    """The bundled packs and `pack_dirs`, registered; the report."""
    report = register_packs(
        [*settings.ST2_PACKS_DIRS, *pack_dirs], [settings.ST2_RUNNER_TYPES_FILE]
    )
    assert not report.errors, report.errors
    return report
