"""Purge every table past its TTL now (st2bridge.retention), in the same short batches as the
worker but until nothing old is left; --dry-run counts what would go and deletes nothing."""

from django.core.management.base import BaseCommand

from st2bridge import retention
from st2bridge.formats import isotime


class Command(BaseCommand):
    help = "Delete rows older than their retention settings (ST2_*_TTL, days)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count, delete nothing")

    def handle(self, *args, dry_run=False, **options):
        verb = "would delete" if dry_run else "deleted"
        for report in retention.purge(budget=None, dry_run=dry_run):
            if not report.ttl:
                self.stdout.write(f"{report.table}: kept for ever ({report.setting}=0)")
                continue
            line = (
                f"{report.table}: {verb} {report.purged} older than {isotime(report.cutoff)}"
                f" ({report.setting}={report.ttl} days)"
            )
            if report.batches:
                slowest = report.max_batch_seconds * 1000
                line += f" in {len(report.batches)} batches, the longest {slowest:.1f} ms"
            self.stdout.write(line)
            if options["verbosity"] > 1:
                for rows, seconds in report.batches:
                    self.stdout.write(f"  {rows} rows in {seconds * 1000:.1f} ms")
