"""Per-pack virtualenvs and the StackStorm Python API (issue 15): Exchange packs from
../shared/reference/packs, read at test time, run in virtualenvs built from their
requirements.txt and give StackStorm's results; the `st2` pack's st2client actions call this
server back with the execution's token; a missing or failing requirement names itself and the
command that fixes it."""

import io
import shutil
import textwrap
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from st2bridge.models import Token
from st2bridge.packs import register_pack, register_packs

from .action_support import put_key, shared_tmp_dir
from .config_support import register_with
from .virtualenv_support import REFERENCE_PACKS, forget_virtualenv, pack_virtualenvs  # noqa: F401
from .worker_support import run_to_completion

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tmp_path():
    """Packs written here are run by the action user: a directory it can read."""
    yield from shared_tmp_dir()


@pytest.fixture
def venvs(settings, pack_virtualenvs):  # noqa: F811
    settings.ST2_VIRTUALENVS_DIR = pack_virtualenvs
    return pack_virtualenvs


@pytest.fixture
def reference_packs(venvs):
    register_with(*(REFERENCE_PACKS / name for name in ("csv", "networking_utils")))


def launch(api, action, **parameters):
    body = {"action": action, "parameters": parameters}
    response = api.post("/api/v1/executions", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def run(api, action, **parameters):
    return run_to_completion(launch(api, action, **parameters), timeout=60)


# --- Exchange packs in their virtualenvs ---------------------------------------------------


def test_csv_format_and_parse_give_stackstorms_results(reference_packs, alice_api):
    rows = [{"name": "web", "port": 80}, {"name": "db", "port": 5432}]
    formatted = run(alice_api, "csv.format", data=rows)
    assert formatted.status == "succeeded", formatted.result
    assert formatted.result == {
        "result": "name,port\r\nweb,80\r\ndb,5432\r\n",
        "exit_code": 0,
        "stdout": "",
        "stderr": "",
    }
    parsed = run(alice_api, "csv.parse", data="name,port\nweb,80")
    assert parsed.result["result"] == [["name", "port"], ["web", "80"]]


def test_csv_raises_st2commons_invalid_parameter_exception(reference_packs, alice_api):
    """format.py imports st2common.exceptions.action (issue 15: it failed at import)."""
    done = run(alice_api, "csv.format", data=[])
    assert done.status == "failed"
    assert done.result["error"] == "InvalidActionParameterException: data has no rows"
    assert done.result["traceback"].endswith(
        "st2common.exceptions.action.InvalidActionParameterException: data has no rows\n"
    )


def test_networking_utils_runs_on_its_requirements(reference_packs, alice_api):
    valid = run(alice_api, "networking_utils.is_valid_ip", ip_address="192.168.0.10")
    assert valid.status == "succeeded", valid.result
    assert valid.result["result"] == {
        "version": 4,
        "is_private": True,
        "is_link_local": False,
        "is_unspecified": False,
        "reverse_pointer": "10.0.168.192.in-addr.arpa",
        "is_multicast": False,
        "is_reserved": False,
        "is_loopback": False,
    }
    # geoip imports geoip2 (a requirement of the pack) and reads the database paths from
    # self.config: without a config, the schema's defaults, where no database is here.
    geoip = run(alice_api, "networking_utils.geoip", ip_addresses=["8.8.8.8"])
    assert geoip.status == "failed"
    assert geoip.result == {
        "result": {"geoip": {}, "error": "No GeoIP2 databases"},
        "exit_code": 0,
        "stdout": "",
        "stderr": "",
    }


# --- the st2 pack: st2client with the execution's token ------------------------------------

ST2_LIB = {
    # The Exchange pack's actions/lib is not among the reference files; this is its contract:
    # a st2client Client on ST2_ACTION_API_URL with ST2_ACTION_AUTH_TOKEN unless configured.
    "__init__.py": "",
    "utils.py": """\
        def filter_none_values(values):
            return {key: value for key, value in values.items() if value is not None}
    """,
    "action.py": """\
        import os

        from st2client.client import Client
        from st2common.runners.base_action import Action


        class St2BaseAction(Action):
            def __init__(self, config):
                super().__init__(config)
                self.client = Client(
                    base_url=self.config.get("base_url"),
                    api_url=self.config.get("api_url") or os.environ.get("ST2_ACTION_API_URL"),
                    token=self.config.get("auth_token") or os.environ.get("ST2_ACTION_AUTH_TOKEN"),
                )
    """,
}


@pytest.fixture
def st2_pack(venvs, tmp_path, live_server, settings):
    settings.ST2_ACTION_API_URL = f"{live_server.url}/api/v1"
    pack = tmp_path / "st2"
    shutil.copytree(REFERENCE_PACKS / "st2", pack)
    pack.chmod(0o755)
    (pack / "actions").chmod(0o755)
    (pack / "actions" / "lib").mkdir()
    for name, text in ST2_LIB.items():
        (pack / "actions" / "lib" / name).write_text(textwrap.dedent(text))
    register_with(pack)
    return pack


def test_st2_kv_get_reads_the_datastore_through_this_server(st2_pack, alice_api):
    put_key("system", "greeting", "hello from the datastore")
    done = run(alice_api, "st2.kv.get", key="greeting")
    assert done.status == "succeeded", done.result
    assert done.result["result"] == "hello from the datastore"
    assert done.result["exit_code"] == 0
    # The token was the execution's, and it is gone with it.
    assert not Token.objects.filter(metadata__service="action").exists()


def test_st2_actions_see_exactly_what_their_user_may_see(st2_pack, alice_api, admin_api):
    put_key("system", "db_password", "s3cret-db", secret=True)
    as_admin = run(admin_api, "st2.kv.get", key="db_password", decrypt=True)
    assert as_admin.status == "succeeded", as_admin.result
    assert as_admin.result["result"] == "s3cret-db"
    as_member = run(alice_api, "st2.kv.get", key="db_password", decrypt=True)
    assert as_member.status == "failed"
    assert "Decrypt option requires administrator access" in as_member.result["error"]
    assert "s3cret-db" not in str(as_member.result)


# --- what goes wrong, and what to do about it ----------------------------------------------


def small_pack(base, name, code, requirements=None):
    pack = base / name
    (pack / "actions").mkdir(parents=True)
    (pack / "pack.yaml").write_text(
        f"name: {name}\nversion: 1.0.0\ndescription: A pack.\nauthor: someone\n"
    )
    (pack / "actions" / "go.yaml").write_text(
        "name: go\nrunner_type: python-script\nentry_point: go.py\n"
    )
    (pack / "actions" / "go.py").write_text(textwrap.dedent(code))
    if requirements is not None:
        (pack / "requirements.txt").write_text(requirements)
    register_pack(pack)
    return pack


IMPORTS_SIX = """\
    import six
    from st2common.runners.base_action import Action

    class Go(Action):
        def run(self):
            return six.__name__
"""


@pytest.fixture
def fresh(venvs):
    """Test packs get their virtualenvs beside the cached ones (so the shared Python API
    virtualenv is not built again), removed before and after."""
    names = ("tinypack", "badpack")
    for name in names:
        forget_virtualenv(venvs, name)
    yield venvs
    for name in names:
        forget_virtualenv(venvs, name)


def test_a_module_the_pack_does_not_require_names_itself_and_the_fix(
    our_runners, tmp_path, alice_api
):
    code = IMPORTS_SIX.replace("import six", "import st2bridge_test_missing_module as six")
    pack = small_pack(tmp_path, "nomod", code)
    done = run(alice_api, "nomod.go")
    assert done.status == "failed"
    assert done.result["error"] == (
        "ModuleNotFoundError: No module named 'st2bridge_test_missing_module' (module "
        '"st2bridge_test_missing_module" is not installed for pack "nomod": add the package '
        f"that provides it to {pack}/requirements.txt and run "
        "`python manage.py setup_virtualenvs nomod`.)"
    )


def test_registration_builds_a_changed_virtualenv_once(
    fresh, our_runners, tmp_path, settings, alice_api
):
    settings.ST2_SETUP_VIRTUALENVS = True
    pack = small_pack(tmp_path, "tinypack", IMPORTS_SIX, requirements="# six only\n")
    first = io.StringIO()
    call_command("register_packs", "--packs-dir", str(pack), stdout=first, stderr=io.StringIO())
    assert "Virtualenv of tinypack built." in first.getvalue()
    done = run(alice_api, "tinypack.go")
    assert done.status == "succeeded", done.result
    assert done.result["result"] == "six"
    again = io.StringIO()
    call_command("register_packs", "--packs-dir", str(pack), stdout=again, stderr=io.StringIO())
    assert "Virtualenv" not in again.getvalue()  # unchanged requirements: kept
    # A changed requirements.txt: the old virtualenv no longer fits, the action says so.
    (pack / "requirements.txt").write_text("# six only, still\n")
    stale = run(alice_api, "tinypack.go")
    assert stale.status == "failed"
    assert stale.result["error"] == (
        f'The virtualenv of pack "tinypack" is out of date with {pack}/requirements.txt: run '
        "`python manage.py setup_virtualenvs tinypack`."
    )


def test_a_failing_requirement_names_itself_and_the_command(
    fresh, our_runners, tmp_path, alice_api
):
    pack = small_pack(
        tmp_path, "badpack", IMPORTS_SIX, requirements="st2bridge-no-such-package==9.9.9\n"
    )
    stderr = io.StringIO()
    with pytest.raises(CommandError, match="1 virtualenv"):
        call_command("setup_virtualenvs", "badpack", stdout=io.StringIO(), stderr=stderr)
    message = stderr.getvalue()
    assert 'requirement "st2bridge-no-such-package==9.9.9"' in message
    assert f"from {pack}/requirements.txt" in message
    assert "`python manage.py setup_virtualenvs badpack`" in message
    done = run(alice_api, "badpack.go")
    assert done.status == "failed"
    assert done.result["error"].startswith(
        'The virtualenv of pack "badpack" is missing: run `python manage.py setup_virtualenvs '
        "badpack`. Its last setup failed: Could not install its requirements for badpack "
        '(requirement "st2bridge-no-such-package==9.9.9")'
    )


def test_setup_virtualenvs_refuses_unknown_packs(db):
    with pytest.raises(CommandError, match="No registered pack nope"):
        call_command("setup_virtualenvs", "nope", stdout=io.StringIO())


@pytest.fixture
def our_runners(db, settings):
    register_packs([], runner_type_files=[settings.ST2_RUNNER_TYPES_FILE])
    assert Path(settings.ST2_RUNNER_TYPES_FILE).is_file()
