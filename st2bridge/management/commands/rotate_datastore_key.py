"""Re-encrypt every secret with the current datastore key, so an old key can be retired.

1. manage.py rotate_datastore_key --generate      # prints a new Fernet key
2. ST2_DATASTORE_KEY="<new>,<old>"                # every web and worker process; restart
3. manage.py rotate_datastore_key                  # secrets now use <new>
4. ST2_DATASTORE_KEY="<new>"                      # restart again; <old> can be destroyed
"""

from cryptography.fernet import Fernet
from django.core.management.base import BaseCommand
from django.db import transaction

from st2bridge import datastore
from st2bridge.models import Execution, KeyValuePair, PackConfig, Rule

BATCH = 500


class Command(BaseCommand):
    help = (
        "Re-encrypt secret datastore values, secret execution parameters, secret rule "
        "action parameters and pack config secrets with the first key."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--generate", action="store_true", help="print a new key and change nothing"
        )

    def handle(self, *args, generate=False, **options):
        if generate:
            self.stdout.write(Fernet.generate_key().decode())
            return
        values = _rotate(KeyValuePair.objects.filter(secret=True), "value")
        parameters = _rotate(Execution.objects.exclude(secret_parameters=""), "secret_parameters")
        rules = _rotate(
            Rule.objects.exclude(secret_action_parameters=""), "secret_action_parameters"
        )
        configs = _rotate(PackConfig.objects.exclude(sealed_values=""), "sealed_values")
        self.stdout.write(
            f"Re-encrypted {values} secret datastore values, the secret parameters of "
            f"{parameters} executions, the secret action parameters of {rules} rules and the "
            f"secrets of {configs} pack configs."
        )


def _rotate(queryset, field):
    """Re-encrypt `field` of every row, a batch per transaction; returns the count."""
    done, last_pk = 0, None
    while True:
        batch = queryset.order_by("pk")
        if last_pk is not None:
            batch = batch.filter(pk__gt=last_pk)
        rows = list(batch.only("pk", field)[:BATCH])
        if not rows:
            return done
        with transaction.atomic():
            for row in rows:
                setattr(row, field, datastore.reencrypt(getattr(row, field)))
            queryset.model.objects.bulk_update(rows, [field])
        done += len(rows)
        last_pk = rows[-1].pk
