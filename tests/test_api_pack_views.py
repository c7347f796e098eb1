"""A pack's files through the API (issue 17): /packs/views/files/{ref},
/packs/views/file/{ref}/{path} and /actions/views/entry_point/{ref}, from inside the pack
only (one test per way out), and the pack index (/packs/index, its search and health)."""

import json
import os
import time
from pathlib import Path

import pytest
import yaml
from django.contrib.auth.models import Group

from st2bridge.models import Pack, TeamAccess
from st2bridge.packs import register_pack

from .catalog_support import register_bundled_packs

pytestmark = pytest.mark.django_db
FILE = "/api/v1/packs/views/file"
PACK_YAML = {
    "ref": "disk",
    "name": "disk",
    "description": "A pack on disk.",
    "version": "0.1.0",
    "author": "someone",
}


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


@pytest.fixture
def secret_outside(tmp_path):
    """A file outside every pack that no request may read."""
    path = tmp_path / "outside" / "secret.txt"
    path.parent.mkdir()
    path.write_text("canary-outside-7731\n")
    return path


@pytest.fixture
def on_disk(tmp_path, secret_outside):
    """A pack `disk` with text files, an icon, a large file, a .git directory, a symlink
    leading out (so never registered) and a file that becomes one after registration."""
    root = tmp_path / "packs" / "disk"
    (root / "actions").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    (root / "pack.yaml").write_text(yaml.safe_dump(PACK_YAML))
    action = {"name": "run", "runner_type": "local-shell-script", "entry_point": "run.sh"}
    (root / "actions" / "run.yaml").write_text(yaml.safe_dump(action))
    (root / "actions" / "run.sh").write_text("#!/bin/sh\necho run\n")
    (root / "icon.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    (root / "big.txt").write_text("x" * 500_001)
    (root / "later.txt").write_text("replaced by a symlink once registered\n")
    os.symlink(secret_outside, root / "leak.txt")
    assert not register_pack(root).problems
    os.remove(root / "later.txt")
    os.symlink(secret_outside, root / "later.txt")
    return root


def team(name, *users, packs=(), actions=()):
    group = Group.objects.create(name=name)
    TeamAccess.objects.create(group=group, packs=list(packs), actions=list(actions))
    group.user_set.add(*users)


def refused(response, status, needle=""):
    assert response.status_code == status, response.content
    assert needle in response.json()["faultstring"]
    assert b"canary-outside" not in response.content


# --- /packs/views/files --------------------------------------------------------------------


def test_files_lists_the_packs_text_files_with_their_content(alice_api, on_disk):
    response = alice_api.get("/api/v1/packs/views/files/disk")
    assert response.status_code == 200
    files = {item["file_path"]: item["content"] for item in response.json()}
    assert files == {
        "actions/run.sh": "#!/bin/sh\necho run\n",
        "actions/run.yaml": (on_disk / "actions" / "run.yaml").read_text(),
        "pack.yaml": (on_disk / "pack.yaml").read_text(),
    }  # no binary icon, no file over 500 kB, no .git, nothing leading out of the pack


def test_files_of_a_bundled_pack_and_of_unknown_ones(alice_api):
    listed = alice_api.get("/api/v1/packs/views/files/demo").json()
    assert {"pack.yaml", "actions/greet.py"} <= {item["file_path"] for item in listed}
    assert alice_api.get("/api/v1/packs/views/files/nope").status_code == 404
    Pack.objects.create(ref="nowhere", name="nowhere", path="")
    refused(alice_api.get("/api/v1/packs/views/files/nowhere"), 404, "no files on this server")


# --- /packs/views/file ---------------------------------------------------------------------


def test_one_file_with_its_type_etag_and_modification_time(alice_api, on_disk):
    response = alice_api.get(f"{FILE}/disk/actions/run.sh")
    assert response.status_code == 200
    assert response.content == b"#!/bin/sh\necho run\n"
    mtime = (on_disk / "actions" / "run.sh").stat().st_mtime
    assert response["ETag"] == repr(mtime)
    assert response["Last-Modified"].endswith(" GMT")
    icon = alice_api.get(f"{FILE}/disk/icon.png")
    assert icon["Content-Type"] == "image/png" and icon.content.startswith(b"\x89PNG")


def test_an_unchanged_file_is_304(alice_api, on_disk):
    first = alice_api.get(f"{FILE}/disk/pack.yaml")
    by_etag = alice_api.get(f"{FILE}/disk/pack.yaml", HTTP_IF_NONE_MATCH=first["ETag"])
    assert by_etag.status_code == 304 and by_etag.content == b""
    by_date = alice_api.get(f"{FILE}/disk/pack.yaml", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert by_date.status_code == 304
    time.sleep(0.01)
    (on_disk / "pack.yaml").write_text(yaml.safe_dump({**PACK_YAML, "version": "0.2.0"}))
    changed = alice_api.get(f"{FILE}/disk/pack.yaml", HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and b"0.2.0" in changed.content


def test_a_file_over_500_kb_is_refused(alice_api, on_disk):
    refused(
        alice_api.get(f"{FILE}/disk/big.txt"),
        400,
        "File big.txt exceeds maximum allowed file size (500000 bytes)",
    )


def test_path_traversal_is_refused(alice_api, on_disk):
    for path in (
        "../../outside/secret.txt",
        "actions/../../outside/secret.txt",
        "../demo/pack.yaml",
    ):
        refused(alice_api.get(f"{FILE}/disk/{path}"), 400, "Invalid file path")


def test_encoded_path_traversal_is_refused(alice_api, on_disk):
    refused(alice_api.get(f"{FILE}/disk/%2e%2e%2f%2e%2e%2foutside%2fsecret.txt"), 400, "Invalid")
    refused(alice_api.get(f"{FILE}/disk/..%5c..%5coutside%5csecret.txt"), 400, "Invalid")


def test_a_path_that_only_wanders_inside_the_pack_is_refused_too(alice_api, on_disk):
    for path in ("actions/../pack.yaml", "./pack.yaml", "actions//run.sh"):
        refused(alice_api.get(f"{FILE}/disk/{path}"), 400, "Invalid file path")


def test_absolute_paths_are_refused(alice_api, on_disk, secret_outside):
    refused(alice_api.get(f"{FILE}/disk/{secret_outside}"), 400, "Invalid file path")
    refused(alice_api.get(f"{FILE}/disk//etc/passwd"), 400, "Invalid file path")


def test_a_symlink_out_of_the_pack_is_never_followed(alice_api, on_disk):
    # Leading out when the pack was registered: the pack does not list it.
    refused(alice_api.get(f"{FILE}/disk/leak.txt"), 404, 'File "leak.txt" not found')
    # A registered file replaced by a symlink leading out since: checked again, refused.
    refused(alice_api.get(f"{FILE}/disk/later.txt"), 400, "resolves outside the pack")
    listed = alice_api.get("/api/v1/packs/views/files/disk").json()
    assert "later.txt" not in {item["file_path"] for item in listed}


def test_files_the_pack_does_not_list_are_not_served(alice_api, on_disk):
    refused(alice_api.get(f"{FILE}/disk/.git/config"), 404, "not found")
    (on_disk / "added.txt").write_text("added after registration\n")
    refused(alice_api.get(f"{FILE}/disk/added.txt"), 404, "not found")
    refused(alice_api.get(f"{FILE}/disk/"), 400, "Missing file path")


def test_a_team_member_reads_only_the_files_of_packs_they_see(alice, alice_api, on_disk):
    team("ops", alice, packs=["core"], actions=["demo.greet"])
    assert alice_api.get(f"{FILE}/disk/pack.yaml").status_code == 404
    assert alice_api.get("/api/v1/packs/views/files/disk").status_code == 404
    assert alice_api.get(f"{FILE}/demo/actions/greet.py").status_code == 200


# --- /actions/views/entry_point ------------------------------------------------------------


def test_an_actions_entry_point(alice_api, on_disk):
    response = alice_api.get("/api/v1/actions/views/entry_point/disk.run")
    assert response.status_code == 200
    assert response.content == b"#!/bin/sh\necho run\n"
    greet = alice_api.get("/api/v1/actions/views/entry_point/demo.greet")
    assert greet.content == Path("packs/demo/actions/greet.py").read_bytes()
    assert greet["Content-Type"] in ("text/x-python", "application/x-python")


def test_an_action_without_an_entry_point_has_an_empty_one(alice_api):
    # StackStorm answers 404 here, which st2web, asking whenever it shows an action, reports
    # as an error on every action without one (core.local, core.noop, ...).
    response = alice_api.get("/api/v1/actions/views/entry_point/core.local")
    assert response.status_code == 200
    assert response.content == b"" and response["Content-Type"].startswith("text/plain")


def test_an_entry_point_leading_out_of_the_pack_is_refused(alice_api, on_disk, secret_outside):
    os.remove(on_disk / "actions" / "run.sh")
    os.symlink(secret_outside, on_disk / "actions" / "run.sh")
    refused(alice_api.get("/api/v1/actions/views/entry_point/disk.run"), 400, "outside")


def test_entry_points_of_hidden_or_unknown_actions_are_404(alice, alice_api):
    team("ops", alice, actions=["demo.greet"])
    assert alice_api.get("/api/v1/actions/views/entry_point/demo.deploy").status_code == 404
    assert alice_api.get("/api/v1/actions/views/entry_point/demo.nope").status_code == 404
    assert alice_api.get("/api/v1/actions/views/entry_point/demo.greet").status_code == 200


# --- the pack index ------------------------------------------------------------------------


def index_file(path, packs):
    path.write_text(json.dumps({"packs": packs}))
    return f"file://{path}"


@pytest.fixture
def indexes(tmp_path, settings):
    packs = {
        "aws": {"name": "aws", "description": "Amazon Web Services.", "keywords": ["cloud"]},
        "cloudy": {"name": "cloudy", "description": "Weather.", "keywords": ["sky"]},
        "sky": {"name": "sky", "description": "Uses the cloud.", "email": "cloud@example.com"},
    }
    settings.ST2_PACK_INDEX_URLS = [
        index_file(tmp_path / "main.json", packs),
        f"file://{tmp_path}/missing.json",
    ]
    return packs


def test_without_indexes_the_index_is_empty_not_an_error(alice_api):
    assert alice_api.get("/api/v1/packs/index").json() == {"status": [], "index": {}}
    search = "/api/v1/packs/index/search"
    assert alice_api.post(search, {"query": "cloud"}, format="json").json() == []
    assert alice_api.post(search, {"pack": "aws"}, format="json").json() == []
    assert alice_api.get("/api/v1/packs/index/health").json() == {
        "indexes": {"count": 0, "valid": 0, "invalid": 0, "errors": {}, "status": []},
        "packs": {"count": 0},
    }


def test_the_index_lists_the_packs_and_how_each_index_read(alice_api, indexes, tmp_path):
    body = alice_api.get("/api/v1/packs/index").json()
    assert body["index"] == indexes
    good, missing = body["status"]
    assert good == {
        "url": f"file://{tmp_path}/main.json",
        "packs": 3,
        "message": "Success.",
        "error": None,
    }
    assert missing["error"] == "unresponsive" and missing["packs"] == 0


def test_search_ranks_name_then_keywords_then_other_fields(alice_api, indexes):
    search = "/api/v1/packs/index/search"
    found = alice_api.post(search, {"query": "CLOUD"}, format="json").json()
    # cloudy by name, aws by keyword, sky by description; never by email.
    assert [pack["name"] for pack in found] == ["cloudy", "aws", "sky"]
    assert alice_api.post(search, {"pack": "sky"}, format="json").json() == indexes["sky"]
    assert alice_api.post(search, {"pack": "none"}, format="json").json() == []
    refused(alice_api.post(search, {}, format="json"), 400, "Pack name must be specified.")
    refused(alice_api.post(search, {"query": ""}, format="json"), 400, "Query must be specified.")
    refused(alice_api.post(search, {"q": "x"}, format="json"), 400, "'q' was unexpected")


def test_health_counts_valid_and_invalid_indexes(alice_api, indexes):
    health = alice_api.get("/api/v1/packs/index/health").json()
    assert health["packs"] == {"count": 3}
    assert {key: health["indexes"][key] for key in ("count", "valid", "invalid", "errors")} == {
        "count": 2,
        "valid": 1,
        "invalid": 1,
        "errors": {"unresponsive": 1},
    }


def test_indexes_that_give_no_pack_are_an_error_as_in_stackstorm(alice_api, settings, tmp_path):
    (tmp_path / "list.json").write_text("[]")
    settings.ST2_PACK_INDEX_URLS = [f"file://{tmp_path}/list.json"]
    refused(alice_api.get("/api/v1/packs/index"), 400, "No results from the index")
    refused(
        alice_api.post("/api/v1/packs/index/search", {"query": "x"}, format="json"), 400, "index"
    )
    health = alice_api.get("/api/v1/packs/index/health").json()
    assert health["indexes"]["errors"] == {"malformed": 1}
