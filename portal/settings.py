"""The one settings file: every knob comes from the environment, with defaults that work
on a laptop with nothing else installed (SQLite, embedded StackStorm API)."""

import os
import secrets
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name, default):
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true or false)")


def envint(name, default):
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None


def envdays(name, default):
    """A retention period in whole days (st2bridge.retention): 0 or `none` keeps forever."""
    value = os.environ.get(name, "").strip().lower()
    if value == "none":
        return 0
    days = envint(name, default)
    if days < 0:
        raise ImproperlyConfigured(f"{name}={days} is negative (use 0 to keep forever)")
    return days


def envlist(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def secret_from_env_or_file(env_name, path, make):
    """A secret from the environment, else one generated once and kept in DATA_DIR (0600, in
    a 0700 directory), so a fresh checkout runs without setup and keeps its tokens valid
    across restarts."""
    if os.environ.get(env_name):
        return os.environ[env_name]
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make())
    return path.read_text().strip()


def private_data_dir(path):
    """DATA_DIR holds the service's secrets and its SQLite database: 0700, and the files it
    keeps there 0600, so that no other OS user (actions run as one: runners/sandbox.py) can
    read them. Tightened on every start, since SQLite creates its files 0644; a directory or
    file owned by another user is left as it is (its owner decides). Not created here: the
    first secret written creates it, 0700."""
    if not path.is_dir() or path.stat().st_uid != os.geteuid():
        return path
    path.chmod(0o700)
    database = [f"portal.sqlite3{suffix}" for suffix in ("", "-wal", "-shm")]
    for name in ["secret_key", "datastore.key", *database]:
        file = path / name
        if file.is_file() and not file.is_symlink() and file.stat().st_uid == os.geteuid():
            file.chmod(0o600)
    return path


DATA_DIR = private_data_dir(Path(os.environ.get("PORTAL_DATA_DIR", BASE_DIR / "var")))

SECRET_KEY = secret_from_env_or_file(
    "DJANGO_SECRET_KEY", DATA_DIR / "secret_key", lambda: secrets.token_urlsafe(50)
)
DEBUG = envbool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "csp",
    "rest_framework",
    "st2bridge",
    "portal",
]

MIDDLEWARE = [
    "corsheaders.middleware.CorsMiddleware",
    "st2bridge.api.middleware.RequestIdMiddleware",
    "st2bridge.api.middleware.ApiGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
APPEND_SLASH = False  # the API treats "/x/" as "/x" itself; never redirect API calls

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.access.template_extensions",
                "portal.navigation.nav_section",
            ],
        },
    },
]

# SQLite by default: WAL so readers never wait for the writer, a busy timeout and IMMEDIATE
# transactions so concurrent writers queue instead of failing with "database is locked".
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(DATA_DIR / "portal.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # Each web thread keeps its connection between requests, as PostgreSQL's do:
            # opening one (and its PRAGMAs) cost about as much as the rest of a GET.
            "CONN_MAX_AGE": 60,
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Our own files, and the front-end packages that `make` installs with `npm ci` (pinned, checked
# against package-lock.json's integrity hashes) into the git-ignored node_modules/, served from
# there as /static/vendor/<package>/ (nothing is committed, nothing loads from a CDN).
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
]
STATIC_ROOT = os.environ.get("PORTAL_STATIC_ROOT") or None  # only for collectstatic
WHITENOISE_USE_FINDERS = True  # serve straight from static/ without a collectstatic step

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_HTTPS = envbool("PORTAL_HTTPS", False)
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
if SECURE_HTTPS:
    # Behind a TLS proxy (OPERATIONS.md): it sets X-Forwarded-Proto, and gunicorn must be
    # reachable only through it. Pages redirect to HTTPS; the API paths do not, because the
    # portal reaches its embedded API over loopback HTTP (ST2_EMBEDDED_BASE_URL).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^(api|auth|stream)/"]
    SECURE_HSTS_SECONDS = envint("PORTAL_HSTS_SECONDS", 31536000)
    # Set both to 0 when a subdomain of this host still serves plain HTTP.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("PORTAL_HSTS_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = envbool("PORTAL_HSTS_PRELOAD", True)

# Content-Security-Policy (django-csp) on every response: scripts, styles and requests only
# from this site's own files, no inline script, style attribute or eval (templates/ has none;
# base.html turns off htmx's injected indicator <style> and its eval), never framed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}

# The API answers with its own JSON; DRF is used for views and authentication classes only.
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["st2bridge.api.renderers.ApiJSONRenderer"],  # orjson
    "DEFAULT_PARSER_CLASSES": [],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "st2bridge.api.authentication.TokenHeaderAuthentication",
        "st2bridge.api.authentication.ApiKeyHeaderAuthentication",
        "st2bridge.api.authentication.TokenQueryAuthentication",
        "st2bridge.api.authentication.ApiKeyQueryAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["st2bridge.api.authentication.CallerRequired"],
    "EXCEPTION_HANDLER": "st2bridge.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

# CORS for the API only, from an explicit allow-list; a wildcard never goes with credentials.
CORS_ALLOWED_ORIGINS = envlist("CORS_ALLOWED_ORIGINS")
if "*" in CORS_ALLOWED_ORIGINS:
    raise ImproperlyConfigured("CORS_ALLOWED_ORIGINS may not contain '*': list the origins")
CORS_URLS_REGEX = r"^/(api|auth|stream)/"
CORS_ALLOW_CREDENTIALS = True
CORS_ALLOW_METHODS = ["GET", "POST", "PUT", "DELETE", "OPTIONS"]
CORS_ALLOW_HEADERS = [
    "content-type",
    "authorization",
    "x-auth-token",
    "st2-api-key",
    "x-request-id",
]
CORS_EXPOSE_HEADERS = ["Content-Type", "X-Limit", "X-Total-Count", "X-Request-ID"]
# The `auth-token` cookie a token-authenticated API request sets, which only event streams
# accept (st2bridge/api/authentication.py): its SameSite attribute. Lax (StackStorm's default)
# lets st2web on the same site (any port of the API's host) open streams with it; None (with
# PORTAL_HTTPS: browsers want Secure with it) lets st2web on another site do so too.
ST2_AUTH_COOKIE_SAMESITE = os.environ.get("ST2_AUTH_COOKIE_SAMESITE", "Lax").strip().capitalize()
if ST2_AUTH_COOKIE_SAMESITE not in ("Strict", "Lax", "None"):
    raise ImproperlyConfigured(
        f"ST2_AUTH_COOKIE_SAMESITE={ST2_AUTH_COOKIE_SAMESITE!r}: use Strict, Lax or None"
    )

# The embedded StackStorm-compatible API.
ST2_TOKEN_TTL = envint("ST2_TOKEN_TTL", 86400)  # default and maximum lifetime of a user token
ST2_MAX_BODY_BYTES = envint("ST2_MAX_BODY_BYTES", 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = ST2_MAX_BODY_BYTES
# The login throttle (st2bridge/auth.py), over the last ST2_LOGIN_FAILURE_WINDOW seconds; a
# sign-in from an address with no failures of its own in the window is never refused.
ST2_LOGIN_FAILURE_WINDOW = envint("ST2_LOGIN_FAILURE_WINDOW", 60)
ST2_LOGIN_FAILURES_PER_USER = envint("ST2_LOGIN_FAILURES_PER_USER", 5)  # one name, one address
ST2_LOGIN_FAILURES_PER_ADDRESS = envint("ST2_LOGIN_FAILURES_PER_ADDRESS", 20)  # any names
# One name from all addresses: beyond it, each address that failed for it is refused for it.
ST2_LOGIN_FAILURES_PER_ACCOUNT = envint("ST2_LOGIN_FAILURES_PER_ACCOUNT", 20)
# Peers (addresses or networks) whose X-Forwarded-For names the client: a proxy in front of
# this site. None by default, not even loopback: actions' own HTTP calls come from loopback.
# ST2_TRUSTED_PROXIES is the deprecated name of this setting.
PORTAL_TRUSTED_PROXIES = envlist(
    "PORTAL_TRUSTED_PROXIES", os.environ.get("ST2_TRUSTED_PROXIES", "")
)
ST2_API_KEY_LAST_USED_INTERVAL = envint("ST2_API_KEY_LAST_USED_INTERVAL", 60)
ST2_MAX_PAGE_SIZE = envint("ST2_MAX_PAGE_SIZE", 100)
ST2_PACKS_DIRS = [BASE_DIR / "packs"] + [Path(p) for p in envlist("ST2_PACKS_EXTRA_DIRS")]
# Pack indexes /packs/index and /packs/index/search read (http(s):// URLs or file:// paths,
# as StackStorm's content.index_url); none by default, and then the index is empty.
ST2_PACK_INDEX_URLS = envlist("ST2_PACK_INDEX_URLS")
ST2_RUNNER_TYPES_FILE = BASE_DIR / "st2bridge" / "runner_types.yaml"
# POST /api/v1/packs/install (README, Installing packs through the API): an administrator
# installs a pack from a directory under one of ST2_PACK_INSTALL_ROOTS (file://...); it is
# copied into ST2_PACKS_INSTALL_DIR, registered now and on every start. Either unset: no
# installs. Not inside DATA_DIR: actions run as another OS user, who must read their packs.
ST2_PACK_INSTALL_ROOTS = [Path(p) for p in envlist("ST2_PACK_INSTALL_ROOTS")]
ST2_PACKS_INSTALL_DIR = (
    Path(os.environ["ST2_PACKS_INSTALL_DIR"]) if os.environ.get("ST2_PACKS_INSTALL_DIR") else None
)
if ST2_PACKS_INSTALL_DIR is not None:
    ST2_PACKS_INSTALL_DIR.mkdir(parents=True, exist_ok=True)
    ST2_PACKS_DIRS.append(ST2_PACKS_INSTALL_DIR)
# Pack configs (<dir>/<pack>.yaml, as StackStorm's /opt/stackstorm/configs) and per-pack
# virtualenvs (as /opt/stackstorm/virtualenvs), which the action user must be able to read.
ST2_CONFIGS_DIR = Path(os.environ.get("ST2_CONFIGS_DIR", BASE_DIR / "configs"))
ST2_VIRTUALENVS_DIR = Path(os.environ.get("ST2_VIRTUALENVS_DIR", BASE_DIR / "virtualenvs"))
# register_packs builds the virtualenvs of packs whose requirements.txt changed (pip).
ST2_SETUP_VIRTUALENVS = envbool("ST2_SETUP_VIRTUALENVS", True)
ST2_ALLOW_SUDO = envbool("ST2_ALLOW_SUDO", False)
ST2_MAX_OUTPUT_BYTES = envint("ST2_MAX_OUTPUT_BYTES", 1024 * 1024)  # per stream, per execution
ST2_ACTION_TIMEOUT = envint("ST2_ACTION_TIMEOUT", 600)  # when the action sets none
ST2_WORKER_CONCURRENCY = envint("ST2_WORKER_CONCURRENCY", 4)
ST2_WORKER_GRACE = envint("ST2_WORKER_GRACE", 20)  # seconds running work may finish on SIGTERM
ST2_HEARTBEAT_INTERVAL = envint("ST2_HEARTBEAT_INTERVAL", 10)
ST2_HEARTBEAT_STALE_AFTER = envint("ST2_HEARTBEAT_STALE_AFTER", 30)  # then `abandoned`
ST2_RULE_CHAIN_LIMIT = envint("ST2_RULE_CHAIN_LIMIT", 10)  # rules started by rules, at most
# Retention (st2bridge.retention; the worker purges in small batches, `manage.py purge` at
# once): days kept, 0 for ever. The first three are StackStorm's [garbagecollector] names;
# executions and trigger instances are kept for ever by default, as in StackStorm.
ST2_ACTION_EXECUTIONS_TTL = envdays("ST2_ACTION_EXECUTIONS_TTL", 0)  # completed ones only
ST2_ACTION_EXECUTIONS_OUTPUT_TTL = envdays("ST2_ACTION_EXECUTIONS_OUTPUT_TTL", 7)
ST2_TRIGGER_INSTANCES_TTL = envdays("ST2_TRIGGER_INSTANCES_TTL", 0)
ST2_RULE_ENFORCEMENTS_TTL = envdays("ST2_RULE_ENFORCEMENTS_TTL", 0)
ST2_STREAM_EVENTS_TTL = envdays("ST2_STREAM_EVENTS_TTL", 1)  # streams resume from a recent id
ST2_TIMER_FIRINGS_TTL = envdays("ST2_TIMER_FIRINGS_TTL", 1)  # by due time; ticks are unique
ST2_EXPIRED_TOKENS_TTL = envdays("ST2_EXPIRED_TOKENS_TTL", 1)  # days after their expiry
ST2_AUDIT_RECORDS_TTL = envdays("ST2_AUDIT_RECORDS_TTL", 0)  # for the audit log (issue 18)
# Teams (st2bridge/teams.py): what a user in no team may see and run, `all` (as StackStorm
# without RBAC) or `none`. Members of teams get the union of their teams' grants; staff, all.
ST2_DEFAULT_ACCESS = os.environ.get("ST2_DEFAULT_ACCESS", "all").strip().lower() or "all"
if ST2_DEFAULT_ACCESS not in ("all", "none"):
    raise ImproperlyConfigured(f"ST2_DEFAULT_ACCESS={ST2_DEFAULT_ACCESS!r}: use all or none")
ST2_STREAM_POLL_INTERVAL = float(os.environ.get("ST2_STREAM_POLL_INTERVAL", "0.5"))
ST2_STREAM_HEARTBEAT = envint("ST2_STREAM_HEARTBEAT", 25)  # seconds of silence before a "\n"
ST2_STREAM_MAX_SECONDS = envint("ST2_STREAM_MAX_SECONDS", 3600)  # then the client reconnects
ST2_DATASTORE_KEY = secret_from_env_or_file(
    "ST2_DATASTORE_KEY",
    DATA_DIR / "datastore.key",
    lambda: Fernet.generate_key().decode(),
)

# The self-service boundary (issue 12, docs/SECURITY.md).
# Runner parameters that change how a process starts (env, cwd, sudo, ...) are staff-only;
# false restores StackStorm's behaviour (anyone who may run an action may set them).
ST2_RESTRICT_RUNNER_PARAMETERS = envbool("ST2_RESTRICT_RUNNER_PARAMETERS", True)
# The OS user actions run as when the worker runs as root (created if missing).
ST2_ACTION_USER = os.environ.get("ST2_ACTION_USER", "stanley").strip() or "stanley"
# Bounds on one template render (st2bridge/jinja_bounds.py) and one criteria regex match.
ST2_TEMPLATE_MAX_SECONDS = float(os.environ.get("ST2_TEMPLATE_MAX_SECONDS", "1"))
ST2_TEMPLATE_MAX_LENGTH = envint("ST2_TEMPLATE_MAX_LENGTH", 1_000_000)  # characters or items
ST2_REGEX_TIMEOUT = float(os.environ.get("ST2_REGEX_TIMEOUT", "0.25"))  # seconds per match
# Request bodies: JSON nested deeper than this is refused (400).
ST2_MAX_JSON_DEPTH = envint("ST2_MAX_JSON_DEPTH", 64)
# Open event streams per user and per web process, and per web process in all (429 beyond;
# st2bridge/api/stream.py). Under `make run` an idle stream costs memory (bench/streams.py:
# tens of kilobytes), not a thread.
ST2_STREAMS_PER_USER = envint("ST2_STREAMS_PER_USER", 8)
ST2_STREAMS_PER_PROCESS = envint("ST2_STREAMS_PER_PROCESS", 2000)
# Non-staff http-request actions may not reach loopback, link-local and cloud metadata
# addresses (staff are not restricted); false lifts the restriction.
ST2_HTTP_PROTECT_LOCAL = envbool("ST2_HTTP_PROTECT_LOCAL", True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# The portal: which StackStorm it talks to (through st2bridge.client only), and its sessions.
# Empty URLs mean the embedded API of this same site, reached over HTTP like a remote one.
ST2_AUTH_URL = os.environ.get("ST2_AUTH_URL", "")
ST2_API_URL = os.environ.get("ST2_API_URL", "")
ST2_STREAM_URL = os.environ.get("ST2_STREAM_URL", "")
ST2_EMBEDDED_BASE_URL = os.environ.get("ST2_EMBEDDED_BASE_URL") or (
    f"http://127.0.0.1:{envint('PORT', 8000)}"
)
ST2_CLIENT_TIMEOUT = envint("ST2_CLIENT_TIMEOUT", 30)
# What actions call back (ST2_ACTION_API_URL, with a token of the execution's user valid
# while it runs): the embedded API, as the worker reaches it.
ST2_ACTION_API_URL = os.environ.get("ST2_ACTION_API_URL") or (
    f"{ST2_EMBEDDED_BASE_URL.rstrip('/')}/api/v1"
)
LOGIN_URL = "/login"
CSRF_COOKIE_HTTPONLY = True  # pages carry the token in forms (and a meta tag for htmx)
SESSION_COOKIE_AGE = ST2_TOKEN_TTL  # a session ends no later than the token inside it
