"""Helpers for tests whose actions touch files of the test.

Under root (CI), action processes run as settings.ST2_ACTION_USER (runners/sandbox.py), who
cannot enter pytest's tmp_path: /tmp/pytest-of-root is 0700, as it should be. Such tests use a
directory of their own under /tmp that every user may enter and write."""

import shutil
import tempfile
from pathlib import Path


def shared_tmp_dir():
    """Yields a fresh directory, 0777, removed afterwards: a body for a fixture."""
    path = Path(tempfile.mkdtemp(prefix="st2bridge-test-"))
    path.chmod(0o777)  # noqa: S103 - the action user writes markers and pid files here
    try:
        yield path
    finally:
        shutil.rmtree(path)


def put_key(scope, name, value, owner="", secret=False):
    """A datastore item, as the API would store it (secrets encrypted)."""
    from st2bridge import datastore
    from st2bridge.models import KeyValuePair

    scope = datastore.full_scope(scope)
    stored = datastore.encrypt(value) if secret else value
    KeyValuePair.objects.create(scope=scope, owner=owner, name=name, value=stored, secret=secret)
