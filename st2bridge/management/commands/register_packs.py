"""Register runner definitions and packs from disk (`make run` calls it on every start).

Packs whose files have not changed since they were last registered are skipped (`--force`
registers them all again). Every problem known afterwards (those of this run and those kept
for unchanged packs) is listed on stdout, file and reason, errors then warnings; the rest
still loads, so one broken extra pack does not stop the server. Admins see the same list in
the portal and at GET /api/v1/packs/views/problems. `--fail-on-error` turns errors into exit
status 1 for CI and deployment checks.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from st2bridge.management.commands.setup_virtualenvs import setup_changed
from st2bridge.packs import register_packs


class Command(BaseCommand):
    help = (
        "Register StackStorm runner types and pack directories (pack.yaml, actions, rules, "
        "sensors, triggers); packs unchanged since last time are skipped."
    )

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
            "--force",
            action="store_true",
            help="Register every pack again, also those whose files have not changed.",
        )
        parser.add_argument(
            "--fail-on-error",
            action="store_true",
            help="Exit with status 1 when any file could not be registered.",
        )

    def handle(self, *args, packs_dirs, runner_type_files, force, fail_on_error, **options):
        report = register_packs(
            packs_dirs or settings.ST2_PACKS_DIRS,
            runner_type_files=runner_type_files or [settings.ST2_RUNNER_TYPES_FILE],
            force=force,
        )
        self.stdout.write(report.summary())
        for title, listed in (("error", report.errors), ("warning", report.warnings)):
            if listed:
                self.stdout.write(f"{len(listed)} {title}(s):")
            for line in listed:
                self.stdout.write(f"  {line}")
        problems = len(report.errors)
        if settings.ST2_SETUP_VIRTUALENVS and not options["no_virtualenvs"]:
            problems += setup_changed(self.stdout, self.stderr)  # manage.py setup_virtualenvs
        if fail_on_error and problems:
            raise CommandError(f"{problems} problem(s) while registering packs")
