"""Catalog rows for tests that need actions without going through the pack loader:
the real runner definitions and bundled action metadata, read from disk."""

from pathlib import Path

import yaml

from st2bridge.models import Action, Pack, RunnerType

ROOT = Path(__file__).resolve().parent.parent


def add_runner_types():
    for spec in yaml.safe_load((ROOT / "st2bridge" / "runner_types.yaml").read_text()):
        RunnerType.objects.update_or_create(
            name=spec["name"],
            defaults={
                "description": spec.get("description", ""),
                "runner_parameters": spec.get("runner_parameters") or {},
                "output_schema": spec.get("output_schema") or {},
            },
        )


def add_action(pack, name, **overrides):
    """The bundled action packs/<pack>/actions/<name>.yaml, with fields overridden."""
    Pack.objects.get_or_create(
        ref=pack, defaults={"name": pack, "path": str(ROOT / "packs" / pack)}
    )
    meta = yaml.safe_load((ROOT / "packs" / pack / "actions" / f"{name}.yaml").read_text())
    meta.update(overrides)
    return Action.objects.update_or_create(
        ref=f"{pack}.{name}",
        defaults={
            "pack": pack,
            "name": name,
            "description": meta.get("description", ""),
            "enabled": meta.get("enabled", True),
            "runner_type": meta["runner_type"],
            "entry_point": meta.get("entry_point") or "",
            "parameters": meta.get("parameters") or {},
        },
    )[0]
