"""/api/v1/packs: list with allow-listed filters and paging, get by ref or id (notes §3.1)."""

import pytest

from st2bridge.models import Pack

pytestmark = pytest.mark.django_db
CORE_YAML = {
    "ref": "core",
    "name": "core",
    "description": "Built-in actions.",
    "keywords": ["core", "shell"],
    "version": "1.0.0",
    "author": "st2bridge maintainers",
    "email": "st2bridge@example.com",
    "python_versions": ["3"],
    "homepage": "https://example.com/core",  # not a StackStorm field: passed through
}


@pytest.fixture
def packs(db):
    core = Pack.objects.create(
        ref="core",
        name="core",
        path="/opt/packs/core",
        metadata=CORE_YAML,
        files=["actions/local.yaml", "pack.yaml"],
    )
    demo = Pack.objects.create(
        ref="demo",
        name="demo",
        metadata={"name": "demo", "version": "0.1.0", "author": "me", "description": None},
    )
    return {"core": core, "demo": demo}


def test_get_by_ref_and_by_id(alice_api, packs):
    response = alice_api.get("/api/v1/packs/core")
    assert response.status_code == 200
    pack = response.json()
    assert pack == {
        **CORE_YAML,
        "id": packs["core"].id,
        "uid": "pack:core",
        "contributors": [],
        "dependencies": [],
        "system": {},
        "files": ["actions/local.yaml", "pack.yaml"],
        "path": "/opt/packs/core",
    }
    assert alice_api.get(f"/api/v1/packs/{packs['core'].id}").json() == pack


def test_null_keys_are_omitted(alice_api, packs):
    demo = alice_api.get("/api/v1/packs/demo").json()
    assert "description" not in demo and "path" not in demo and "email" not in demo
    assert demo["uid"] == "pack:demo" and demo["version"] == "0.1.0"


def test_unknown_pack_is_404(alice_api, packs):
    for ref_or_id in ("nope", "1"):
        response = alice_api.get(f"/api/v1/packs/{ref_or_id}")
        assert response.status_code == 404
        assert response.json() == {
            "faultstring": f'Resource with a ref or id "{ref_or_id}" not found'
        }


def test_list_defaults_to_100_sorted_by_ref(alice_api, packs):
    response = alice_api.get("/api/v1/packs")
    assert [item["ref"] for item in response.json()] == ["core", "demo"]
    assert response["X-Total-Count"] == "2" and response["X-Limit"] == "100"
    page = alice_api.get("/api/v1/packs/?limit=1&offset=1")
    assert [item["ref"] for item in page.json()] == ["demo"]


def test_filters(alice_api, packs):
    def refs(query):
        response = alice_api.get(f"/api/v1/packs?{query}")
        assert response.status_code == 200, response.json()
        return [item["ref"] for item in response.json()]

    assert refs("name=demo") == ["demo"]
    assert refs("ref=core") == ["core"]
    assert refs(f"id={packs['demo'].id}") == ["demo"]
    assert refs("ref=nope") == []
    assert refs("author=me&version=0.1.0&path=x") == ["core", "demo"]
    assert alice_api.get("/api/v1/packs?id=zzz").status_code == 400


def test_include_attributes_as_the_cli_asks(alice_api, packs):
    response = alice_api.get("/api/v1/packs?include_attributes=ref,name,description,version,author")
    assert response.json()[0] == {
        "id": packs["core"].id,
        "ref": "core",
        "name": "core",
        "description": "Built-in actions.",
        "version": "1.0.0",
        "author": "st2bridge maintainers",
    }
    excluded = alice_api.get("/api/v1/packs/core?exclude_attributes=files,path").json()
    assert "files" not in excluded and "path" not in excluded and "ref" in excluded
    assert alice_api.get("/api/v1/packs?include_attributes=bogus").status_code == 400


def test_limit_rules(alice_api, admin_api, packs):
    assert alice_api.get("/api/v1/packs?limit=0").status_code == 400
    assert alice_api.get("/api/v1/packs?limit=-22").status_code == 400
    assert alice_api.get("/api/v1/packs?limit=1000").status_code == 403
    assert alice_api.get("/api/v1/packs?limit=-1").status_code == 403
    assert admin_api.get("/api/v1/packs?limit=1000").status_code == 200
    everything = admin_api.get("/api/v1/packs?limit=-1")
    assert len(everything.json()) == 2 and "X-Limit" not in everything


def test_read_only_and_authenticated(alice_api, anon_api, packs):
    assert anon_api.get("/api/v1/packs").status_code == 401
    for response in (
        alice_api.post("/api/v1/packs", {"ref": "x"}, format="json"),
        alice_api.put("/api/v1/packs/core", {}, format="json"),
        alice_api.delete("/api/v1/packs/core"),
    ):
        assert response.status_code == 404
        assert response.json() == {"faultstring": "The resource could not be found."}
    assert Pack.objects.count() == 2
