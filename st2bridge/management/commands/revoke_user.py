"""Cut a user off at once: every token deleted, every API key disabled (kept, so an admin can
see and re-enable them), and with --deactivate the account too. The next request with any of
their credentials is refused."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from st2bridge.models import ApiKey, Token


class Command(BaseCommand):
    help = "Revoke every token and API key of a user (and optionally deactivate the account)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--deactivate", action="store_true", help="also refuse passwords")

    def handle(self, *args, username, deactivate=False, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        with transaction.atomic():
            tokens, _ = Token.objects.filter(user=user).delete()
            keys = ApiKey.objects.filter(user=user, enabled=True).update(enabled=False)
            if deactivate:
                user.is_active = False
                user.save(update_fields=["is_active"])
        account = " and deactivated the account" if deactivate else ""
        self.stdout.write(
            f"{username}: deleted {tokens} tokens, disabled {keys} API keys{account}."
        )
