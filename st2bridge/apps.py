from django.apps import AppConfig
from django.db.models.signals import post_migrate


class St2BridgeConfig(AppConfig):
    name = "st2bridge"
    verbose_name = "StackStorm bridge"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        post_migrate.connect(_install_count_triggers, sender=self)


def _install_count_triggers(using, plan=None, **kwargs):
    """The triggers that keep the execution counts exact (st2bridge.execution_counts), after
    every migrate: a migration that rebuilds the executions table on SQLite drops them."""
    from django.db import connections

    from . import execution_counts

    tables = connections[using].introspection.table_names()
    if any(tally.table not in tables for tally in execution_counts.TALLIES):
        return  # migrated back before the counts existed
    execution_counts.ensure()
