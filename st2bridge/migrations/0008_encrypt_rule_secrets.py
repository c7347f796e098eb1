"""Rules saved before issue 12 hold their secret action parameter values in plaintext in
action_parameters: move them to secret_action_parameters, encrypted, leaving the mask
(st2bridge.rulebook.sealed_values does the same on every save). Reversible."""

import json

from django.db import migrations

MASK = "********"


def _merged(apps, action_ref):
    """The action's merged parameter schema, {} when the action is not registered."""
    from st2bridge.params import merge_parameters  # pure: no models, no settings

    action = apps.get_model("st2bridge", "Action").objects.filter(ref=action_ref).first()
    if action is None:
        return {}
    runner = apps.get_model("st2bridge", "RunnerType").objects.filter(name=action.runner_type)
    runner_parameters = runner.values_list("runner_parameters", flat=True).first()
    return merge_parameters(runner_parameters or {}, action.parameters)


def encrypt_secrets(apps, schema_editor):
    from st2bridge import datastore

    rules = apps.get_model("st2bridge", "Rule").objects.filter(secret_action_parameters="")
    for rule in rules.iterator():
        merged = _merged(apps, rule.action_ref)
        values = rule.action_parameters or {}
        secret = {
            name: value
            for name, value in values.items()
            if (merged.get(name) or {}).get("secret") and value != MASK
        }
        if not secret:
            continue
        rule.action_parameters = {**values, **dict.fromkeys(secret, MASK)}
        rule.secret_action_parameters = datastore.encrypt(json.dumps(secret))
        rule.save(update_fields=["action_parameters", "secret_action_parameters"])


def decrypt_secrets(apps, schema_editor):
    from st2bridge import datastore

    rules = apps.get_model("st2bridge", "Rule").objects.exclude(secret_action_parameters="")
    for rule in rules.iterator():
        secret = json.loads(datastore.decrypt(rule.secret_action_parameters))
        rule.action_parameters = {**(rule.action_parameters or {}), **secret}
        rule.secret_action_parameters = ""
        rule.save(update_fields=["action_parameters", "secret_action_parameters"])


class Migration(migrations.Migration):
    dependencies = [
        ("st2bridge", "0007_boundary"),
    ]

    operations = [
        migrations.RunPython(encrypt_secrets, decrypt_secrets, elidable=False),
    ]
