"""`st2 run` and `st2 execution ...` with the official CLI (st2client 3.9.0), against a live
server and a real worker process (manage.py run_worker) sharing the test database file.

Each test starts its own worker (about a second) and stops it with SIGTERM afterwards, so the
tests stay independent of each other and of the transactional_db flush between them. A
synchronous `st2 run` polls every 2 s, so each costs at least that.
"""

import json
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.signals import request_started

from st2bridge.models import Execution
from st2bridge.packs import register_packs

from .catalog_support import register_bundled_packs
from .cli_support import St2, async_execution_id, finish, output, parsed, st2_binary
from .conftest import PASSWORD
from .worker_support import run_until, start_worker_process, status_of, stop_worker_process

pytestmark = pytest.mark.cli

QUICK = 15  # seconds; a generous bound for a command that normally takes a few


@pytest.fixture
def worker(transactional_db):
    """The bundled packs registered and a real worker process running; SIGTERM at the end
    (a short grace period, so that a test that left work running still tears down fast)."""
    register_bundled_packs()
    process = start_worker_process(ST2_WORKER_GRACE=1, ST2_WORKER_CONCURRENCY=4)
    yield process
    stop_worker_process(process)


@pytest.fixture
def st2(live_server, tmp_path, admin_user, worker):
    """The CLI after `st2 login admin`, with a worker to run what it launches."""
    home = tmp_path / "home"
    home.mkdir()
    st2 = St2(st2_binary(), live_server.url, home)
    result = st2("login", "admin", "-p", PASSWORD)
    assert result.returncode == 0, output(result)
    return st2


def run_json(st2, *args, returncode=0):
    """`st2 run ARGS -j`, synchronous: the finished execution as the CLI printed it."""
    return parsed(st2("run", *args, "-j"), returncode)


def run_async(st2, *args):
    return async_execution_id(st2("run", *args, "-a"))


# --- st2 run core.local -------------------------------------------------------------------


def test_run_core_local_prints_the_commands_output(st2):
    execution = run_json(st2, "core.local", "cmd=echo hello")
    assert execution["status"] == "succeeded"
    assert execution["action"]["ref"] == "core.local"
    assert execution["context"]["user"] == "admin"
    assert execution["parameters"] == {"cmd": "echo hello"}
    assert execution["result"]["stdout"] == "hello"
    assert execution["result"]["return_code"] == 0
    assert execution["result"]["succeeded"] is True


def test_run_without_j_shows_the_result_as_text(st2):
    result = st2("run", "core.local", "cmd=echo hello")
    assert result.returncode == 0, output(result)
    assert "status: succeeded" in result.stdout
    assert "stdout: hello" in result.stdout


def test_run_of_a_failing_command_is_failed_and_exits_1(st2):
    execution = run_json(st2, "core.local", "cmd=echo bad >&2; exit 3", returncode=1)
    assert execution["status"] == "failed"
    assert execution["result"]["return_code"] == 3
    assert execution["result"]["stderr"] == "bad"
    assert execution["result"]["failed"] is True


def test_run_with_an_unknown_parameter_is_refused(st2):
    result = st2("run", "core.local", "cmd=true", "bogus=1")
    assert result.returncode == 1, output(result)
    assert "ERROR: 400 Client Error: Bad Request" in result.stdout, output(result)
    assert "bogus" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert not Execution.objects.exists()


def test_run_without_a_required_parameter_is_refused(st2):
    result = st2("run", "core.local", "timeout=5")
    assert result.returncode == 1, output(result)
    assert "ERROR: 400 Client Error: Bad Request" in result.stdout, output(result)
    assert "'cmd' is a required property" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert not Execution.objects.exists()


def test_run_of_an_unknown_action_is_refused(st2):
    result = st2("run", "core.nope", "cmd=true")
    assert result.returncode == 1, output(result)
    assert 'ERROR: Resource with id or reference "core.nope" doesn\'t exist.' in result.stdout
    assert not Execution.objects.exists()


# --- st2 run -a / execution cancel --------------------------------------------------------


def test_async_run_then_cancel_stops_the_running_command(st2):
    started = time.monotonic()
    execution_id = run_async(st2, "core.local", "cmd=sleep 30")
    run_until(lambda: status_of(execution_id) == "running", timeout=QUICK)

    result = st2("execution", "cancel", execution_id)
    assert result.returncode == 0, output(result)
    assert f"action execution with id {execution_id} canceled." in result.stdout

    run_until(lambda: status_of(execution_id) == "canceled", timeout=QUICK)
    shown = parsed(st2("execution", "get", execution_id, "-j"))
    assert shown["status"] == "canceled"
    assert [entry["status"] for entry in shown["log"]][-2:] == ["canceling", "canceled"]
    assert time.monotonic() - started < 20  # far from the 30 s the command would sleep


def test_cancel_of_a_finished_execution_says_so(st2):
    execution = run_json(st2, "core.local", "cmd=true")
    result = st2("execution", "cancel", execution["id"])
    assert result.returncode == 0, output(result)
    assert "Action cannot be canceled. State = succeeded." in result.stdout


# --- st2 execution list / get / re-run ----------------------------------------------------


def test_execution_list_get_and_re_run(st2):
    first = run_json(st2, "core.local", "cmd=echo one")
    second = run_json(st2, "core.local", "cmd=echo two")

    listed = parsed(st2("execution", "list", "-j"))
    assert [item["id"] for item in listed] == [first["id"], second["id"]]  # newest last
    assert {item["action"]["ref"] for item in listed} == {"core.local"}
    assert {item["status"] for item in listed} == {"succeeded"}
    only_failed = st2("execution", "list", "--status", "failed", "-j")
    assert parsed(only_failed) == []

    shown = parsed(st2("execution", "get", second["id"], "-j"))
    assert shown["id"] == second["id"]
    assert shown["parameters"] == {"cmd": "echo two"}
    assert shown["result"]["stdout"] == "two"
    assert [entry["status"] for entry in shown["log"]] == [
        "requested",
        "scheduled",
        "running",
        "succeeded",
    ]
    text = st2("execution", "get", second["id"])
    assert text.returncode == 0, output(text)
    assert "status: succeeded (" in text.stdout  # "(1s elapsed)"

    again = parsed(st2("execution", "re-run", second["id"], "-j"))
    assert again["id"] not in (first["id"], second["id"])
    assert again["status"] == "succeeded"
    assert again["parameters"] == {"cmd": "echo two"}
    assert again["result"]["stdout"] == "two"

    changed = parsed(st2("execution", "re-run", second["id"], "cmd=echo three", "-j"))
    assert changed["parameters"] == {"cmd": "echo three"}
    assert changed["result"]["stdout"] == "three"
    assert len(parsed(st2("execution", "list", "-j"))) == 4


def test_execution_get_of_an_unknown_id_is_not_found(st2):
    result = st2("execution", "get", "0123456789abcdef01234567")
    assert result.returncode == 1, output(result)
    assert 'Action Execution "0123456789abcdef01234567" is not found.' in result.stdout


# --- st2 run core.http --------------------------------------------------------------------


class JsonHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        body = json.dumps({"greeting": "hi", "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def http_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), JsonHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_run_core_http_against_a_local_server(st2, http_server):
    execution = run_json(st2, "core.http", f"url={http_server}/status?x=1")
    assert execution["status"] == "succeeded", execution
    assert execution["result"]["status_code"] == 200
    assert execution["result"]["body"] == {"greeting": "hi", "path": "/status?x=1"}


# --- python-script actions ----------------------------------------------------------------

TEST_PACK = {
    "pack.yaml": """\
        ref: testpack
        name: testpack
        description: A pack made by a test.
        version: 0.0.1
        author: tests
        email: tests@example.com
        """,
    "actions/add.yaml": """\
        name: add
        runner_type: python-script
        entry_point: add.py
        description: Adds two numbers and says so.
        parameters:
          a:
            type: integer
            required: true
          b:
            type: integer
            default: 1
        """,
    "actions/add.py": """\
        from st2common.runners.base_action import Action


        class Add(Action):
            def run(self, a, b):
                print(f"adding {a} and {b}")
                return {"sum": a + b}
        """,
}


@pytest.fixture
def test_pack(shared_tmp, worker):
    root = shared_tmp / "testpack"
    for name, text in TEST_PACK.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    report = register_packs([root])
    assert not report.errors, report.errors
    return root


def test_run_python_action_of_a_test_pack(st2, test_pack):
    execution = run_json(st2, "testpack.add", "a=40", "b=2")
    assert execution["status"] == "succeeded", execution
    assert execution["parameters"] == {"a": 40, "b": 2}  # cast by the CLI: integers
    assert execution["result"]["result"] == {"sum": 42}
    assert "adding 40 and 2" in execution["result"]["stdout"]
    assert execution["result"]["exit_code"] == 0


def test_run_demo_greet(st2):
    execution = run_json(st2, "demo.greet", "name=Ada", "times=2", "shout=true")
    assert execution["status"] == "succeeded", execution
    assert execution["parameters"] == {"name": "Ada", "times": 2, "shout": True}
    assert execution["result"]["result"] == "HELLO, ADA!\nHELLO, ADA!"


# --- st2 execution tail -------------------------------------------------------------------


@pytest.fixture
def stream_opened():
    """An Event set when the live server (a thread of this process) starts answering a
    request for /stream/v1/stream."""
    opened = threading.Event()

    def started(sender, environ=None, **kwargs):
        if (environ or {}).get("PATH_INFO", "").startswith("/stream/v1/stream"):
            opened.set()

    request_started.connect(started, weak=False)
    yield opened
    request_started.disconnect(started)


def test_execution_tail_follows_a_running_execution_to_its_end(st2, shared_tmp, stream_opened):
    # The stream only carries what happens after it is opened (as in StackStorm), so the
    # command prints nothing until the test has seen `tail` connect and creates the flag.
    flag = shared_tmp / "go"
    execution_id = run_async(
        st2,
        "core.local",
        f"cmd=while [ ! -e {flag} ]; do sleep 0.1; done; "
        "for i in 1 2 3; do echo line$i; sleep 1; done",
    )
    run_until(lambda: status_of(execution_id) == "running", timeout=QUICK)

    tail = st2.start("execution", "tail", execution_id)
    try:
        assert stream_opened.wait(QUICK), "st2 execution tail never opened the stream"
        time.sleep(0.3)  # the stream notes where it starts right after the request begins
        assert status_of(execution_id) == "running"
        flag.touch()
    finally:
        result = finish(tail, timeout=QUICK)
    assert result.returncode == 0, output(result)
    assert [line for line in result.stdout.splitlines() if line.startswith("line")] == [
        "line1",
        "line2",
        "line3",
    ], output(result)
    assert f"Execution {execution_id} has completed (status=succeeded)." in result.stdout
    assert status_of(execution_id) == "succeeded"


def test_execution_tail_of_a_finished_execution_prints_its_output(st2):
    execution = run_json(st2, "core.local", "cmd=echo done")
    result = st2("execution", "tail", execution["id"], timeout=QUICK)
    assert result.returncode == 0, output(result)
    assert result.stdout.startswith("done\n")
    assert f"Execution {execution['id']} has completed (status=succeeded)." in result.stdout
