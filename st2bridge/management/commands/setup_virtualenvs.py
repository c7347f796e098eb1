"""Build the virtualenvs of registered packs (st2bridge/runners/virtualenvs.py): those that ship
a requirements.txt, from it and StackStorm's base requirement, with pip; the shared virtualenv
of StackStorm's Python client first. A virtualenv whose requirements did not change is kept
(--force builds it again). `register_packs` calls setup_changed() for the packs it registered.

    python manage.py setup_virtualenvs              # every registered pack
    python manage.py setup_virtualenvs csv st2      # these packs
"""

from django.core.management.base import BaseCommand, CommandError

from st2bridge.models import Pack
from st2bridge.runners import sandbox, virtualenvs
from st2bridge.runners.base import RunRefused


class Command(BaseCommand):
    help = "Build the virtualenvs of packs from their requirements.txt (pip), when they changed."

    def add_arguments(self, parser):
        parser.add_argument("packs", nargs="*", metavar="PACK", help="pack refs (default: all)")
        parser.add_argument(
            "--force", action="store_true", help="build them again even when up to date"
        )

    def handle(self, *args, packs, force, **options):
        found = dict(Pack.objects.values_list("ref", "path"))
        unknown = sorted(set(packs) - set(found))
        if unknown:
            raise CommandError(
                f"No registered pack {', '.join(unknown)}: run `python manage.py register_packs`."
            )
        chosen = [(ref, found[ref]) for ref in (packs or sorted(found))]
        failures = report(run_setup(chosen, force=force), self.stdout, self.stderr)
        if failures:
            raise CommandError(f"{failures} virtualenv(s) could not be built")


def run_setup(packs, *, force=False, only_changed=False):
    try:
        account = sandbox.action_account()
        return virtualenvs.setup_packs(packs, account, force=force, only_changed=only_changed)
    except (RunRefused, virtualenvs.SetupFailed) as error:
        return [virtualenvs.SetupResult("virtualenvs", "failed", str(error))]


def report(results, stdout, stderr):
    """Print what was built and every failure; returns how many failed."""
    for result in results:
        if result.status == "built":
            stdout.write(f"Virtualenv of {result.name} built.")
        elif result.status == "failed":
            stderr.write(result.message)
    return sum(result.status == "failed" for result in results)


def setup_changed(stdout, stderr):
    """The virtualenvs of registered packs whose requirements changed (or that have none yet),
    for register_packs; returns the number of failures."""
    packs = list(Pack.objects.values_list("ref", "path"))
    return report(run_setup(packs, only_changed=True), stdout, stderr)
