"""Pack virtualenvs for tests (st2bridge/runners/virtualenvs.py), built with pip once and kept
between runs in .venv-packs/ (git-ignored): a virtualenv records the hash of its
requirements, so a run builds only what is missing or changed, and the whole suite pays for
pip once (about a minute on a clean checkout, with network; seconds afterwards). Only the
packs the tests run are built: the Exchange packs `csv`, `networking_utils` and `st2`, and
the shared StackStorm Python API (st2client)."""

import shutil
from pathlib import Path

import pytest
from django.test import override_settings

from st2bridge.runners import sandbox, virtualenvs

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_PACKS = ROOT.parent / "shared" / "reference" / "packs"
CACHE = ROOT / ".venv-packs"
PACKS = ("csv", "networking_utils", "st2")


@pytest.fixture(scope="session")
def pack_virtualenvs():
    """The directory holding the virtualenvs of PACKS, up to date; point
    settings.ST2_VIRTUALENVS_DIR at it."""
    if not REFERENCE_PACKS.is_dir():
        pytest.fail(f"StackStorm reference packs not found under {REFERENCE_PACKS}")
    with override_settings(ST2_VIRTUALENVS_DIR=CACHE):
        packs = [(name, REFERENCE_PACKS / name) for name in PACKS]
        results = virtualenvs.setup_packs(packs, sandbox.action_account())
    failed = [result.message for result in results if result.status == "failed"]
    assert not failed, failed
    return CACHE


def forget_virtualenv(directory, name):
    """A test pack's virtualenv and recorded failure, removed from `directory`."""
    shutil.rmtree(Path(directory) / name, ignore_errors=True)
    (Path(directory) / f".{name}.failed").unlink(missing_ok=True)
