"""Runs one StackStorm Python action in a process of its own.

Started by python_script.py as `python -I -u -B python_action_host.py <channel fd>`, as the
action user (st2bridge/runners/sandbox.py), on the pack's interpreter (its virtualenv's when
it has one: runners/virtualenvs.py). The channel is a socket shared with the runner, carrying
JSON lines: the job comes in first; the final message is the action's result or its error.
Not stdout: an action may print whatever it likes there. The datastore (action_service) is
reached through the API, as the execution's user (compat/st2common/services/datastore.py).

This file is a script, not a module of st2bridge: it imports nothing from Django or st2bridge,
only the standard library and the compatibility layer in ./compat.
"""

import importlib.util
import inspect
import json
import os
import site
import socket
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
COMPAT = HERE / "compat"


class Channel:
    def __init__(self, fd):
        os.set_inheritable(fd, False)  # processes the action starts must not hold it open
        self.sock = socket.socket(fileno=fd)
        self.lines = self.sock.makefile("rb")

    def send(self, message):
        self.sock.sendall(json.dumps(message).encode("utf-8") + b"\n")

    def receive(self):
        line = self.lines.readline()
        if not line:
            raise ConnectionError("The runner closed the channel.")
        return json.loads(line)


class ActionService:
    """self.action_service of the action, as StackStorm's: the datastore through the API as
    the execution's user (st2common.services.datastore, in ./compat)."""

    def __init__(self, pack, class_name, logger):
        from st2common.services.datastore import ActionDatastoreService

        self.datastore_service = ActionDatastoreService(logger, pack, class_name)

    def get_user_info(self):
        return self.datastore_service.get_user_info()

    def list_values(self, local=True, prefix=None, limit=None, offset=0):
        return self.datastore_service.list_values(local, prefix, limit, offset)

    def get_value(self, name, local=True, scope="system", decrypt=False):
        return self.datastore_service.get_value(name, local, scope=scope, decrypt=decrypt)

    def set_value(self, name, value, ttl=None, local=True, scope="system", encrypt=False):
        return self.datastore_service.set_value(name, value, ttl, local, scope, encrypt)

    def delete_value(self, name, local=True, scope="system"):
        return self.datastore_service.delete_value(name, local, scope=scope)


def main(argv):
    channel = Channel(int(argv[1]))
    job = channel.receive()
    os.environ.update(job.get("environ") or {})  # ST2_ACTION_API_URL, ST2_ACTION_AUTH_TOKEN
    entry_point = Path(job["entry_point"])
    set_sys_path(entry_point, job.get("python_path") or [])
    from st2common.runners import base_action  # the compat layer, importable from here on

    base_action.set_log_level(job.get("log_level") or "DEBUG")
    try:
        action_class = load_action_class(entry_point, base_action.Action)
        logger = base_action.action_logger(action_class.__name__)
        service = ActionService(job["pack"], action_class.__name__, logger)
        action = instantiate(action_class, job["config"], service)
        message = result_message(action.run(**job["parameters"]))
    except Exception as error:
        traceback.print_exc()  # the action's stderr, where StackStorm shows it too
        summary = f"{type(error).__name__}: {error}{missing_module_hint(error, job)}"
        channel.send({"type": "error", "error": summary, "traceback": traceback.format_exc()})
        return 1
    channel.send(message)
    return 0


def set_sys_path(entry_point, after):
    """The runner starts this script isolated (-I): no PYTHONPATH, no user site and not this
    script's own directory on sys.path (the runner modules next to it cannot shadow anything).
    What an action imports is put there explicitly: compat first (for `st2common`), then what
    StackStorm adds, the action's directory and the pack's actions/lib; the interpreter's own
    packages (the pack's virtualenv) follow, then `after` (StackStorm's Python client)."""
    actions_lib = entry_point.parent / "lib"
    sys.path[:0] = [str(COMPAT), str(entry_point.parent), str(actions_lib)]
    for path in after:
        site.addsitedir(path)


def missing_module_hint(error, job):
    """What to do about a module the pack needs and its interpreter lacks."""
    if not isinstance(error, ModuleNotFoundError) or not error.name or not job.get("fix"):
        return ""
    top = error.name.split(".")[0]
    if top in ("st2common", "st2actions"):
        return f" (StackStorm's {error.name} is not available to actions here.)"
    return (
        f' (module "{top}" is not installed for pack "{job["pack"]}": add the package '
        f"that provides it to {job['requirements']} and run `{job['fix']}`.)"
    )


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
