"""Production settings pass Django's deployment checks with no warning, and the static
security scan (bandit) finds nothing of medium or high severity."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "PORTAL_HTTPS": "1",
    "DJANGO_DEBUG": "0",
    "DJANGO_ALLOWED_HOSTS": "portal.example.com",
    "DJANGO_SECRET_KEY": "x" * 20 + "production-secret-key-of-enough-length-and-variety-0123456789",
}


def run(*args, env=None):
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_check_deploy_passes_with_no_warning(tmp_path):
    env = {**os.environ, **PRODUCTION, "PORTAL_DATA_DIR": str(tmp_path), "DATABASE_URL": ""}
    result = run(
        sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING", env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_without_https(tmp_path):
    """The check above can fail: without PORTAL_HTTPS the cookies are not Secure."""
    env = {**os.environ, **PRODUCTION, "PORTAL_HTTPS": "0", "PORTAL_DATA_DIR": str(tmp_path)}
    env["DATABASE_URL"] = ""
    result = run(
        sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING", env=env
    )
    assert result.returncode != 0
    assert "SESSION_COOKIE_SECURE" in result.stderr + result.stdout


def test_bandit_finds_no_medium_or_high_issue():
    bandit = Path(sys.executable).with_name("bandit")
    result = run(str(bandit), "-q", "-r", "portal", "st2bridge", "--severity-level", "medium")
    assert result.returncode == 0, result.stdout + result.stderr
