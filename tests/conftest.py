"""Shared fixtures: named users (admin, alice, bob) and API clients that carry their tokens."""

import base64

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

PASSWORD = "correct horse battery staple"


@pytest.fixture
def shared_tmp():
    """A temporary directory the action user may enter and write (tests/action_support.py):
    under root, actions cannot reach pytest's own tmp_path."""
    from .action_support import shared_tmp_dir

    yield from shared_tmp_dir()


@pytest.fixture(autouse=True)
def fast_hasher(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def own_configs_and_virtualenvs(settings, tmp_path):
    """No test reads the developer's configs/ or builds virtualenvs by registering packs
    (pip is slow): tests that want them say so (tests/virtualenv_support.py)."""
    settings.ST2_CONFIGS_DIR = tmp_path / "configs"
    settings.ST2_VIRTUALENVS_DIR = tmp_path / "virtualenvs"
    settings.ST2_SETUP_VIRTUALENVS = False


def make_user(username, **extra):
    return get_user_model().objects.create_user(username, password=PASSWORD, **extra)


@pytest.fixture
def admin_user(db):
    return make_user("admin", is_staff=True, is_superuser=True)


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def bob(db):
    return make_user("bob")


def basic(username, password=PASSWORD):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def login(username, password=PASSWORD, **body):
    """POST /auth/v1/tokens and return the response."""
    return APIClient().post(
        "/auth/v1/tokens", body, format="json", HTTP_AUTHORIZATION=basic(username, password)
    )


def client_for(user):
    token = login(user.username).json()["token"]
    client = APIClient()
    client.credentials(HTTP_X_AUTH_TOKEN=token)
    return client


@pytest.fixture
def admin_api(admin_user):
    return client_for(admin_user)


@pytest.fixture
def alice_api(alice):
    return client_for(alice)


@pytest.fixture
def bob_api(bob):
    return client_for(bob)


@pytest.fixture
def anon_api():
    return APIClient()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory):
    """Keep the SQLite test database in a file, so that real worker processes started by
    tests (manage.py run_worker) share it with the test and the live server."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        database.setdefault("TEST", {})["NAME"] = str(
            tmp_path_factory.mktemp("db") / "test.sqlite3"
        )


# --- the portal in front of a live server's embedded API (helpers: portal_support.py) ---


@pytest.fixture
def portal(live_server, settings):
    """The portal's client pointed at the live server's embedded API; bundled packs loaded."""
    settings.ST2_EMBEDDED_BASE_URL = live_server.url
    settings.ST2_AUTH_URL = settings.ST2_API_URL = settings.ST2_STREAM_URL = ""
    from .catalog_support import register_bundled_packs

    register_bundled_packs()
    return live_server


@pytest.fixture
def alice_browser(portal, alice):
    from .portal_support import browser

    return browser("alice")


@pytest.fixture
def bob_browser(portal, bob):
    from .portal_support import browser

    return browser("bob")


@pytest.fixture
def admin_browser(portal, admin_user):
    from .portal_support import browser

    return browser(admin_user.username)
