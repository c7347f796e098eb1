"""The bundled catalog for tests: runner types and packs registered by the real loader."""

from django.conf import settings

from st2bridge.models import Action
from st2bridge.packs import register_packs


def register_bundled_packs():
    report = register_packs(settings.ST2_PACKS_DIRS, [settings.ST2_RUNNER_TYPES_FILE])
    assert not report.errors, report.errors
    return report


def change_action(ref, **fields):
    """Change a registered action in place (to disable it, give it other parameters, ...)."""
    Action.objects.filter(ref=ref).update(**fields)
    return Action.objects.get(ref=ref)
