"""Create the first administrator unless one exists.

Credentials come from DJANGO_SUPERUSER_USERNAME / DJANGO_SUPERUSER_PASSWORD; without a
password one is generated and printed once (it is never stored anywhere in plain text).
"""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the first admin user if there is no superuser yet."

    def handle(self, *args, **options):
        users = get_user_model().objects
        if users.filter(is_superuser=True).exists():
            self.stdout.write("An administrator already exists; leaving users as they are.")
            return
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or "st2admin"
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(18)
        users.create_superuser(username=username, email="", password=password)
        self.stdout.write(self.style.SUCCESS(f"Created administrator {username!r}."))
        if generated:
            self.stdout.write(
                f"Generated password (shown once, write it down): {password}\n"
                "Set DJANGO_SUPERUSER_PASSWORD to choose it yourself."
            )
