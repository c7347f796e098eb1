"""Register runner definitions and packs from disk (`make run` calls it on every start).

Problems are printed and the rest still loads, so one broken extra pack does not stop the
server; `--fail-on-error` turns them into exit status 1 for CI and deployment checks.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from st2bridge.management.commands.setup_virtualenvs import setup_changed
from st2bridge.packs import register_packs


class Command(BaseCommand):
    help = "Register StackStorm runner types and pack directories (pack.yaml, actions/*.yaml)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--packs-dir",
            action="append",
            type=Path,
            dest="packs_dirs",
            metavar="DIR",
            help="A directory of packs, or one pack directory (repeatable). "
            "Default: settings.ST2_PACKS_DIRS.",
        )
        parser.add_argument(
            "--runner-types",
            action="append",
            type=Path,
            dest="runner_type_files",
            metavar="FILE",
            help="A runner.yaml file, a YAML list (repeatable). "
            "Default: settings.ST2_RUNNER_TYPES_FILE.",
        )
        parser.add_argument(
            "--no-virtualenvs",
            action="store_true",
            help="Do not build the virtualenvs of packs whose requirements.txt changed "
            "(settings.ST2_SETUP_VIRTUALENVS=false does the same).",
        )
        parser.add_argument(
            "--fail-on-error",
            action="store_true",
            help="Exit with status 1 when any file could not be registered.",
        )

    def handle(self, *args, packs_dirs, runner_type_files, fail_on_error, **options):
        report = register_packs(
            packs_dirs or settings.ST2_PACKS_DIRS,
            runner_type_files=runner_type_files or [settings.ST2_RUNNER_TYPES_FILE],
        )
        self.stdout.write(report.summary())
        for error in report.errors:
            self.stderr.write(error)
        problems = len(report.errors)
        if settings.ST2_SETUP_VIRTUALENVS and not options["no_virtualenvs"]:
            problems += setup_changed(self.stdout, self.stderr)  # manage.py setup_virtualenvs
        if fail_on_error and problems:
            raise CommandError(f"{problems} problem(s) while registering packs")
