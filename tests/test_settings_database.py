"""The database settings: PostgreSQL from DATABASE_URL, and SQLite that lets concurrent
writers wait for each other instead of failing with "database is locked"."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_python(code, **env):
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_database_url_selects_postgresql(tmp_path):
    result = run_python(
        "from django.conf import settings; d = settings.DATABASES['default'];"
        "print(d['ENGINE'], d['NAME'], d['HOST'], d['PORT'])",
        DATABASE_URL="postgres://portal:pw@db.internal:5433/portal",
        PORTAL_DATA_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "portal",
        "db.internal",
        "5433",
    ]


WRITER = """
import django
django.setup()
from django.db import transaction
from st2bridge.models import LoginFailure
for n in range(40):
    with transaction.atomic():
        seen = LoginFailure.objects.count()  # read, then write: the classic lock upgrade
        LoginFailure.objects.create(username=f"w{seen}", address="127.0.0.1")
"""


def test_concurrent_sqlite_writers_wait_instead_of_failing(tmp_path):
    env = {"PORTAL_DATA_DIR": str(tmp_path), "SQLITE_PATH": str(tmp_path / "db.sqlite3")}
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER],
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", **env},
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    errors = [writer.communicate(timeout=120)[1] for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0, 0, 0], errors
    count = run_python(
        "import django; django.setup(); from st2bridge.models import LoginFailure;"
        "print(LoginFailure.objects.count())",
        **env,
    )
    assert count.stdout.strip() == "160", count.stderr
