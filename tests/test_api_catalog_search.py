"""The catalog extensions of this API, over HTTP: GET /api/v1/actions?q= (search) and
GET /api/v1/packs/views/action_counts, both listed in /api/v1/extensions and in the OpenAPI
document; bounded, literal (no LIKE wildcards), one query whatever the catalog's size, and
limited to what the caller's teams let them see."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from st2bridge.models import Action, Pack, RunnerType, TeamAccess

pytestmark = pytest.mark.django_db


def action(pack, name, description="", tags=()):
    return Action(
        ref=f"{pack}.{name}",
        pack=pack,
        name=name,
        description=description,
        runner_type="noop",
        tags=list(tags),
    )


@pytest.fixture
def catalog(db):
    RunnerType.objects.create(name="noop")
    for ref in ("ops", "web", "empty"):
        Pack.objects.create(ref=ref, name=ref)
    Action.objects.bulk_create(
        [
            action("ops", "restart", "Restart a SERVICE on a host."),
            action("ops", "discount", "Takes 50% off."),
            action("ops", "one", "The first."),
            action("ops", "two_parts", "Has an underscore in its name."),
            action("web", "deploy", "Ship it.", [{"name": "team", "value": "payments"}]),
            action("web", "purge", "Purge the cache of a service."),
        ]
    )


def refs(api, query, **params):
    response = api.get("/api/v1/actions", {"q": query, **params})
    assert response.status_code == 200, response.json()
    return [item["ref"] for item in response.json()], int(response["X-Total-Count"])


@pytest.mark.parametrize(
    "query, expected",
    [
        ("restart", ["ops.restart"]),  # name
        ("web.", ["web.deploy", "web.purge"]),  # ref: pack and name
        ("service", ["ops.restart", "web.purge"]),  # description, any case
        ("SERVICE cache", ["web.purge"]),  # every word, anywhere
        ("payments", ["web.deploy"]),  # a tag's value
        ("", ["ops.discount", "ops.one", "ops.restart", "ops.two_parts"]),  # no search
        ("nothing-has-this", []),
    ],
)
def test_search_matches_every_word_in_ref_description_or_tags(alice_api, catalog, query, expected):
    params = {"pack": "ops"} if query == "" else {}
    assert refs(alice_api, query, **params) == (expected, len(expected))


@pytest.mark.parametrize(
    "query, expected",
    [
        ("%", ["ops.discount"]),  # literally "%", not "anything"
        ("_", ["ops.two_parts"]),  # literally "_", not "any one character"
        ("o_e", []),  # would match "one" were _ a wildcard
        ("50%", ["ops.discount"]),
        ("\\", []),
    ],
)
def test_like_wildcards_in_a_search_are_literal(alice_api, catalog, query, expected):
    assert refs(alice_api, query)[0] == expected


def test_search_pages_with_the_total_of_matches(alice_api, catalog):
    page, total = refs(alice_api, "o", limit=2, offset=1)
    everything, _ = refs(alice_api, "o")
    assert total == len(everything) > 3
    assert page == everything[1:3]


@pytest.mark.parametrize(
    "query, named",
    [
        ("x" * 201, "longer than 200 characters"),
        (" ".join(["word"] * 11), "more than 10 words"),
    ],
)
def test_unbounded_or_unusable_search_is_400_naming_q(alice_api, catalog, query, named):
    response = alice_api.get("/api/v1/actions", {"q": query})
    assert response.status_code == 400
    assert response.json()["faultstring"].startswith('Parameter "q"')
    assert named in response.json()["faultstring"]


def test_search_of_200_characters_is_answered(alice_api, catalog):
    assert refs(alice_api, "y" * 200) == ([], 0)


def test_search_costs_the_same_queries_at_any_catalog_size(alice_api, catalog):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            refs(alice_api, "service host", limit=50)
        return len(captured)

    small = queries()
    Action.objects.bulk_create(
        action("web", f"bulk{number}", f"Service number {number}") for number in range(300)
    )
    assert queries() == small


def test_search_sees_only_what_the_callers_teams_grant(alice, alice_api, catalog, settings):
    settings.ST2_DEFAULT_ACCESS = "none"
    group = Group.objects.create(name="ops team")
    TeamAccess.objects.create(group=group, packs=["web"], actions=["ops.restart"])
    group.user_set.add(alice)
    assert refs(alice_api, "service")[0] == ["ops.restart", "web.purge"]
    assert refs(alice_api, "ops")[0] == ["ops.restart"]


def test_overview_takes_the_same_search(alice_api, catalog):
    response = alice_api.get("/api/v1/actions/views/overview", {"q": "payments"})
    assert [item["ref"] for item in response.json()] == ["web.deploy"]


# --- counts of actions per pack -------------------------------------------------------------


def test_action_counts_of_the_packs_asked_for(alice_api, catalog):
    response = alice_api.get("/api/v1/packs/views/action_counts", {"pack": "ops,empty,nope"})
    assert response.status_code == 200
    assert response.json() == {"ops": 4, "empty": 0, "nope": 0}
    everything = alice_api.get("/api/v1/packs/views/action_counts").json()
    assert everything == {"ops": 4, "web": 2}


def test_action_counts_are_one_query_and_only_of_visible_actions(alice, alice_api, catalog):
    Action.objects.bulk_create(action("web", f"bulk{number}") for number in range(200))
    group = Group.objects.create(name="web team")
    TeamAccess.objects.create(group=group, packs=["web"], actions=["ops.one"])
    group.user_set.add(alice)
    with CaptureQueriesContext(connection) as captured:
        counts = alice_api.get("/api/v1/packs/views/action_counts", {"pack": "ops,web"}).json()
    assert counts == {"ops": 1, "web": 202}
    grouped = [query for query in captured if "GROUP BY" in query["sql"]]
    assert len(grouped) == 1


def test_action_counts_need_credentials_and_at_most_100_packs(alice_api, anon_api, catalog):
    assert anon_api.get("/api/v1/packs/views/action_counts").status_code == 401
    too_many = ",".join(f"p{number}" for number in range(101))
    response = alice_api.get("/api/v1/packs/views/action_counts", {"pack": too_many})
    assert response.status_code == 400
    assert response.json()["faultstring"] == 'Parameter "pack" names more than 100 packs.'


# --- offered and documented -----------------------------------------------------------------


def test_extensions_offer_search_and_counts(alice_api):
    offered = alice_api.get("/api/v1/extensions").json()
    assert offered["action_search"] is True and offered["pack_action_counts"] is True


def test_openapi_documents_search_and_counts(anon_api):
    document = anon_api.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/actions", "/api/v1/actions/views/overview"):
        (q,) = [p for p in document["paths"][path]["get"]["parameters"] if p["name"] == "q"]
        assert q["schema"] == {"type": "string", "maxLength": 200}
    counts = document["paths"]["/api/v1/packs/views/action_counts"]["get"]
    assert [p["name"] for p in counts["parameters"]] == ["pack"]
    assert counts["responses"]["200"]["content"]["application/json"]["schema"] == {
        "type": "object",
        "additionalProperties": {"type": "integer", "minimum": 0},
    }
    extensions = document["paths"]["/api/v1/extensions"]["get"]["responses"]["200"]
    schema = extensions["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Extensions"}
    offered = document["components"]["schemas"]["Extensions"]["properties"]
    assert offered["action_search"]["type"] == offered["pack_action_counts"]["type"] == "boolean"
