"""Runs one StackStorm Python action in a process of its own.

Started by python_script.py as `python -I -u -B python_action_host.py <channel fd>`, as the
action user (st2bridge/runners/sandbox.py). The channel is a socket shared with the runner, carrying
JSON lines: the job comes in first; datastore calls go out and their answers come back; the
final message is the action's result or its error. Not stdout: an action may print whatever it
likes there.

This file is a script, not a module of st2bridge: it imports nothing from Django or st2bridge,
only the standard library and the compatibility layer in ./compat.
"""

import importlib.util
import inspect
import json
import os
import socket
import sys
import threading
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
COMPAT = HERE / "compat"


class DatastoreError(RuntimeError):
    """A datastore call of the action failed in the runner (or no datastore is available)."""


class Channel:
    def __init__(self, fd):
        os.set_inheritable(fd, False)  # processes the action starts must not hold it open
        self.sock = socket.socket(fileno=fd)
        self.lines = self.sock.makefile("rb")
        self.lock = threading.Lock()  # the action may call the datastore from several threads

    def send(self, message):
        self.sock.sendall(json.dumps(message).encode("utf-8") + b"\n")

    def receive(self):
        line = self.lines.readline()
        if not line:
            raise ConnectionError("The runner closed the channel.")
        return json.loads(line)

    def call(self, message):
        with self.lock:
            self.send(message)
            return self.receive()


class ActionService:
    """self.action_service of the action, as StackStorm's. Local names get StackStorm's
    "<pack>.<ActionClass>:" prefix here, where the class is known; the runner's datastore
    receives full names (local=False)."""

    def __init__(self, channel, pack, class_name):
        self.channel = channel
        self.prefix = f"{pack}.{class_name}:"

    def get_value(self, name, local=True, scope="system", decrypt=False):
        full = self._full_name(name, local)
        return self._call("get_value", name=full, local=False, scope=scope, decrypt=decrypt)

    def set_value(self, name, value, ttl=None, local=True, scope="system", encrypt=False):
        full = self._full_name(name, local)
        # StackStorm stores str(value) too: datastore values are strings.
        arguments = {"value": str(value), "ttl": ttl, "scope": scope, "encrypt": encrypt}
        return self._call("set_value", name=full, local=False, **arguments)

    def delete_value(self, name, local=True, scope="system"):
        full = self._full_name(name, local)
        return self._call("delete_value", name=full, local=False, scope=scope)

    def list_values(self, local=True, prefix=None):
        raise NotImplementedError("action_service.list_values is not supported by st2bridge.")

    def _full_name(self, name, local):
        return self.prefix + name if local else name

    def _call(self, method, **arguments):
        answer = self.channel.call({"type": "datastore", "method": method, "arguments": arguments})
        if "error" in answer:
            raise DatastoreError(answer["error"])
        return answer.get("value")


def main(argv):
    channel = Channel(int(argv[1]))
    job = channel.receive()
    entry_point = Path(job["entry_point"])
    set_sys_path(entry_point)
    from st2common.runners import base_action  # the compat layer, importable from here on

    base_action.set_log_level(job.get("log_level") or "DEBUG")
    try:
        action_class = load_action_class(entry_point, base_action.Action)
        service = ActionService(channel, job["pack"], action_class.__name__)
        action = instantiate(action_class, job["config"], service)
        message = result_message(action.run(**job["parameters"]))
    except Exception as error:
        traceback.print_exc()  # the action's stderr, where StackStorm shows it too
        summary = f"{type(error).__name__}: {error}"
        channel.send({"type": "error", "error": summary, "traceback": traceback.format_exc()})
        return 1
    channel.send(message)
    return 0


def set_sys_path(entry_point):
    """The runner starts this script isolated (-I): no PYTHONPATH, no user site and not this
    script's own directory on sys.path (the runner modules next to it cannot shadow anything).
    What an action imports is put there explicitly: compat first (for `st2common`), then what
    StackStorm adds, the action's directory and the pack's actions/lib."""
    actions_lib = entry_point.parent / "lib"
    sys.path[:0] = [str(COMPAT), str(entry_point.parent), str(actions_lib)]


def load_action_class(path, base):
    """The one Action subclass the entry point defines. A base class of it defined in the same
    file does not count, so `class Base(Action)` + `class Real(Base)` gives Real."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    defined = [
        member
        for _, member in inspect.getmembers(module, inspect.isclass)
        if issubclass(member, base) and member is not base and member.__module__ == path.stem
    ]
    leaves = [c for c in defined if not any(o is not c and issubclass(o, c) for o in defined)]
    if not leaves:
        raise LookupError(f'"{path.name}" defines no subclass of {base.__module__}.Action.')
    if len(leaves) > 1:
        names = ", ".join(c.__name__ for c in leaves)
        raise LookupError(f'"{path.name}" defines several actions ({names}); it must define one.')
    return leaves[0]


def instantiate(action_class, config, service):
    try:
        action = action_class(config=config, action_service=service)
    except TypeError as error:
        # Older actions define __init__(self, config) only; StackStorm retries the same way.
        if "action_service" not in str(error):
            raise
        action = action_class(config=config)
    action.action_service = service
    return action


def result_message(output):
    """run() returns a value, or a (success, value) tuple whose success must be a bool."""
    status = None
    if isinstance(output, tuple) and len(output) == 2:
        status, output = output
        if not isinstance(status, bool):
            raise TypeError(
                "Status returned from the action run() method must either be True or False, "
                f"got: {status!r}"
            )
    return {"type": "result", "status": status, "result": jsonable(output)}


def jsonable(value):
    """The value itself when it is JSON, else str(value), as StackStorm does."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return str(value)
    return value


if __name__ == "__main__":
    sys.exit(main(sys.argv))
