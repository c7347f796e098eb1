"""Count the executions afresh (st2bridge.execution_counts): the counts the list's
X-Total-Count and deep pages rely on are kept by database triggers, so they drift only if
executions were written with triggers disabled (say, `session_replication_role = replica`).
Reinstalls the triggers and recounts in one transaction; writers wait meanwhile."""

from django.core.management.base import BaseCommand

from st2bridge import execution_counts


class Command(BaseCommand):
    help = "Reinstall the execution count triggers and count every execution afresh."

    def handle(self, *args, **options):
        execution_counts.ensure(force=True)
        self.stdout.write(f"Counted the executions afresh (triggers {execution_counts.VERSION}).")
