"""python-script: StackStorm Python actions run unchanged in a subprocess (the demo pack's
greet.py and small actions written here), with config, logger, datastore access, live output,
failures and timeouts."""

import textwrap
import threading
from pathlib import Path

import pytest

from st2bridge.auth import issue_action_token
from st2bridge.models import KeyValuePair
from st2bridge.runners import RunRequest, get_runner
from tests.action_support import put_key, shared_tmp_dir

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tmp_path():
    """The actions written here live in the test's directory: one the action user can read."""
    yield from shared_tmp_dir()


def write_action(tmp_path, code, name="my_action.py"):
    actions = tmp_path / "mypack" / "actions"
    actions.mkdir(parents=True, exist_ok=True)
    (actions / name).write_text(textwrap.dedent(code))
    return tmp_path / "mypack"


def run_action(pack_path, parameters=None, *, entry_point="my_action.py", timeout=10, **extra):
    action = {
        "ref": "mypack.my_action",
        "pack": "mypack",
        "name": "my_action",
        "entry_point": entry_point,
        "runner_type": "python-script",
    }
    request = RunRequest(
        execution_id="exec-1",
        action=action,
        pack_path=str(pack_path),
        parameters=parameters or {},
        timeout=timeout,
        on_output=extra.pop("on_output", lambda output_type, text: None),
        cancel=threading.Event(),
        **extra,
    )
    return get_runner("python-script").run(request)


def test_demo_greet_runs_unchanged():
    action = {
        "ref": "demo.greet",
        "pack": "demo",
        "name": "greet",
        "entry_point": "greet.py",
        "runner_type": "python-script",
    }
    # timeout and log_level are runner parameters: greet.run() would reject them.
    parameters = {"name": "Ada", "times": 2, "shout": True, "timeout": 30, "log_level": "DEBUG"}
    request = RunRequest(
        "exec-1",
        action,
        str(ROOT / "packs/demo"),
        parameters,
        30,
        lambda *a: None,
        threading.Event(),
    )
    outcome = get_runner("python-script").run(request)
    assert outcome.status == "succeeded", outcome.result
    assert outcome.result == {
        "result": "HELLO, ADA!\nHELLO, ADA!",
        "exit_code": 0,
        "stdout": "",
        "stderr": "",
    }
    assert not (ROOT / "packs/demo/actions/__pycache__").exists()


def test_false_status_tuple_fails_with_the_result(tmp_path):
    pack = write_action(
        tmp_path,
        """
        from st2common.runners.base_action import Action

        class Check(Action):
            def run(self, host):
                return (False, {"host": host, "reachable": False})
        """,
    )
    outcome = run_action(pack, {"host": "db1"})
    assert outcome.status == "failed"
    assert outcome.result["result"] == {"host": "db1", "reachable": False}
    assert outcome.result["exit_code"] == 0


def test_true_status_tuple_succeeds(tmp_path):
    pack = write_action(
        tmp_path,
        """
        from st2common.runners.base_action import Action

        class Check(Action):
            def run(self):
                return True, [1, 2]
        """,
    )
    outcome = run_action(pack)
    assert outcome.status == "succeeded"
    assert outcome.result["result"] == [1, 2]


def test_exception_fails_with_its_traceback(tmp_path):
    pack = write_action(
        tmp_path,
        """
        from st2common.runners.base_action import Action

        class Explode(Action):
            def run(self):
                raise ValueError("boom")
        """,
    )
    outcome = run_action(pack)
    assert outcome.status == "failed"
    assert outcome.result["result"] is None
    assert outcome.result["exit_code"] == 1
    assert outcome.result["error"] == "ValueError: boom"
    assert 'my_action.py", line 6, in run' in outcome.result["traceback"]
    assert "ValueError: boom" in outcome.result["stderr"]


def test_printing_does_not_corrupt_the_result_and_logger_writes_stderr(tmp_path):
    pack = write_action(
        tmp_path,
        """
        import json
        from st2common.runners.base_action import Action

        class Noisy(Action):
            def run(self):
                print(json.dumps({"type": "result", "status": False, "result": "fake"}))
                print("plain line")
                self.logger.info("working on it")
                return {"real": True}
        """,
    )
    outcome = run_action(pack)
    assert outcome.status == "succeeded"
    assert outcome.result["result"] == {"real": True}
    assert outcome.result["stdout"] == (
        '{"type": "result", "status": false, "result": "fake"}\nplain line\n'
    )
    assert "INFO actions.python.Noisy [-] working on it" in outcome.result["stderr"]
    assert "working on it" not in outcome.result["stdout"]


def test_log_level_runner_parameter_filters_the_logger(tmp_path):
    pack = write_action(
        tmp_path,
        """
        from st2common.runners.base_action import Action

        class Quiet(Action):
            def run(self):
                self.logger.debug("detail")
                self.logger.error("problem")
        """,
    )
    outcome = run_action(pack, {"log_level": "ERROR"})
    assert "problem" in outcome.result["stderr"]
    assert "detail" not in outcome.result["stderr"]


def test_config_and_older_import_path(tmp_path):
    pack = write_action(
        tmp_path,
        """
        from st2actions.runners.pythonrunner import Action

        class Configured(Action):
            def __init__(self, config):  # older actions accept config only
                super().__init__(config)

            def run(self, suffix):
                return self.config["base_url"] + suffix
        """,
    )
    outcome = run_action(pack, {"suffix": "/v1"}, config={"base_url": "https://api.example"})
    assert outcome.result["result"] == "https://api.example/v1"


DATASTORE_ACTION = """
    from st2common.runners.base_action import Action

    class Counter(Action):
        def run(self):
            before = self.action_service.get_value("count")
            self.action_service.set_value("count", int(before or 0) + 1, ttl=60)
            shared = self.action_service.get_value("shared", local=False, decrypt=True)
            removed = self.action_service.delete_value("gone", local=False)
            again = self.action_service.delete_value("gone", local=False)
            mine = [item.name for item in self.action_service.list_values()]
            return {"before": before, "shared": shared, "removed": removed, "again": again,
                    "mine": mine}
"""


def api_of(live_server, user):
    """(api_url, auth_token) as the worker gives them to an action of `user`'s."""
    _, raw = issue_action_token(user.username, 60, "exec-1")
    return {"api_url": f"{live_server.url}/api/v1", "auth_token": raw}


@pytest.mark.django_db(transaction=True)
def test_action_service_reaches_the_datastore_through_the_api(tmp_path, live_server, admin_user):
    pack = write_action(tmp_path, DATASTORE_ACTION)
    put_key("system", "mypack.Counter:count", "4")
    put_key("system", "shared", "s3cr3t", secret=True)
    put_key("system", "gone", "x")
    outcome = run_action(pack, **api_of(live_server, admin_user))
    assert outcome.status == "succeeded", outcome.result
    assert outcome.result["result"] == {
        "before": "4",
        "shared": "s3cr3t",
        "removed": True,
        "again": False,
        # list_values(local=True): this action's own items, by StackStorm's prefix
        "mine": ["mypack.Counter:count"],
    }
    # Local names carry StackStorm's "<pack>.<ActionClass>:" prefix; values are strings.
    count = KeyValuePair.objects.get(scope="st2kv.system", name="mypack.Counter:count")
    assert count.value == "5" and count.expire_timestamp is not None
    assert not KeyValuePair.objects.filter(name="gone").exists()


USER_SCOPE_ACTION = """
    from st2common.runners.base_action import Action

    class Notes(Action):
        def run(self, system_write):
            self.action_service.set_value("note", "mine", local=False, scope="user")
            note = self.action_service.get_value("note", local=False, scope="user")
            secret = self.action_service.get_value("shared", local=False, decrypt=True)
            if system_write:
                self.action_service.set_value("note", "everyone's", local=False)
            return {"note": note, "secret": secret}
"""


@pytest.mark.django_db(transaction=True)
def test_action_service_acts_as_the_executions_user(tmp_path, live_server, alice):
    """As StackStorm scopes it: "user" is the execution's user; what that user may not do
    through the API (decrypt a system secret, write a system key) the action may not either."""
    pack = write_action(tmp_path, USER_SCOPE_ACTION)
    put_key("system", "shared", "s3cr3t", secret=True)
    api = api_of(live_server, alice)
    outcome = run_action(pack, {"system_write": False}, **api)
    assert outcome.status == "succeeded", outcome.result
    assert outcome.result["result"] == {"note": "mine", "secret": None}
    assert "403: Decrypt option requires administrator access" in outcome.result["stderr"]
    assert KeyValuePair.objects.get(scope="st2kv.user", owner="alice", name="note").value == "mine"
    refused = run_action(pack, {"system_write": True}, **api)
    assert refused.status == "failed"
    assert refused.result["error"] == (
        "DatastoreError: 403: Administrator access required to change system-scoped keys"
    )
    assert not KeyValuePair.objects.filter(scope="st2kv.system", name="note").exists()


def test_the_api_token_is_not_in_the_environment_the_process_started_with(tmp_path):
    """Other processes of the action user can read /proc/<pid>/environ: the host sets the
    token in os.environ itself, for the action and what it starts."""
    pack = write_action(
        tmp_path,
        """
        import os, subprocess
        from st2common.runners.base_action import Action

        class Env(Action):
            def run(self):
                with open("/proc/self/environ", "rb") as started:
                    initial = started.read().decode()
                child = subprocess.run(["sh", "-c", "echo $ST2_ACTION_AUTH_TOKEN"],
                                       capture_output=True, text=True).stdout.strip()
                return {"token": os.environ.get("ST2_ACTION_AUTH_TOKEN"),
                        "url": os.environ.get("ST2_ACTION_API_URL"),
                        "at_start": "ST2_ACTION_AUTH_TOKEN" in initial, "child": child}
        """,
    )
    outcome = run_action(pack, api_url="http://127.0.0.1:1/api/v1", auth_token="t0ken")
    assert outcome.status == "succeeded", outcome.result
    assert outcome.result["result"] == {
        "token": "t0ken",
        "url": "http://127.0.0.1:1/api/v1",
        "at_start": False,
        "child": "t0ken",
    }


def test_without_the_api_the_call_raises_in_the_action(tmp_path):
    pack = write_action(tmp_path, DATASTORE_ACTION)
    outcome = run_action(pack)
    assert outcome.status == "failed"
    assert outcome.result["error"] == (
        "DatastoreError: The StackStorm API is not available to this action: its process has "
        "no ST2_ACTION_API_URL or ST2_ACTION_AUTH_TOKEN."
    )


def test_unserialisable_return_value_becomes_text(tmp_path):
    pack = write_action(
        tmp_path,
        """
        from st2common.runners.base_action import Action

        class Thing:
            def __str__(self):
                return "a thing"

        class Odd(Action):
            def run(self):
                return Thing()
        """,
    )
    assert run_action(pack).result["result"] == "a thing"


def test_output_is_delivered_while_the_action_runs(tmp_path):
    flag = tmp_path / "seen"
    pack = write_action(
        tmp_path,
        f"""
        import os, time
        from st2common.runners.base_action import Action

        class Chatty(Action):
            def run(self):
                print("first")
                while not os.path.exists({str(flag)!r}):
                    time.sleep(0.02)
                return "done"
        """,
    )

    def on_output(output_type, text):
        if "first" in text:
            flag.touch()

    outcome = run_action(pack, timeout=5, on_output=on_output)
    assert outcome.status == "succeeded"
    assert outcome.result["result"] == "done"


def test_timeout(tmp_path):
    pack = write_action(
        tmp_path,
        """
        import time
        from st2common.runners.base_action import Action

        class Slow(Action):
            def run(self):
                time.sleep(30)
        """,
    )
    outcome = run_action(pack, timeout=0.5)
    assert outcome.status == "timeout"
    assert outcome.result["exit_code"] == -9
    assert outcome.result["error"] == "Action failed to complete in 0.5 seconds"


@pytest.mark.parametrize(
    "code, error",
    [
        (
            "x = 1\n",
            'LookupError: "my_action.py" defines no subclass of '
            "st2common.runners.base_action.Action.",
        ),
        (
            """
            from st2common.runners.base_action import Action
            class One(Action):
                def run(self):
                    pass
            class Two(Action):
                def run(self):
                    pass
            """,
            'LookupError: "my_action.py" defines several actions (One, Two); it must define one.',
        ),
        (
            """
            from st2common.runners.base_action import Action
            class Odd(Action):
                def run(self):
                    return ("yes", 1)
            """,
            "TypeError: Status returned from the action run() method must either be True or "
            "False, got: 'yes'",
        ),
    ],
)
def test_malformed_actions_fail_clearly(tmp_path, code, error):
    outcome = run_action(write_action(tmp_path, code))
    assert outcome.status == "failed"
    assert outcome.result["error"] == error


def test_a_base_class_in_the_same_file_is_not_the_action(tmp_path):
    pack = write_action(
        tmp_path,
        """
        from st2common.runners.base_action import Action

        class Base(Action):
            def run(self):
                return "base"

        class Real(Base):
            def run(self):
                return "real"
        """,
    )
    assert run_action(pack).result["result"] == "real"


def test_entry_point_outside_the_pack_is_refused(tmp_path):
    pack = write_action(tmp_path, "x = 1\n")
    outcome = run_action(pack, entry_point="../../../../etc/passwd")
    assert outcome.status == "failed"
    assert outcome.result["error"] == 'Entry point "../../../../etc/passwd" is outside the pack.'
