"""st2bridge.access (who sees and changes what) and st2bridge.records (one row by ref or id,
save or 409), below the API: the answers every view and service gets from them.

Users: admin (staff), alice (in the "ops" team: the core pack and demo.greet), bob (in no
team; ST2_DEFAULT_ACCESS is `all` unless a test says otherwise)."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from st2bridge import access, records
from st2bridge.auth import Caller
from st2bridge.errors import AccessDenied, Conflict, InvalidInput, NotFound
from st2bridge.models import Action, Pack, Rule, RunnerType, StreamEvent, TeamAccess

from .catalog_support import register_bundled_packs

pytestmark = pytest.mark.django_db


def caller(user):
    return Caller(user=user, method="authentication token", location="header")


@pytest.fixture(autouse=True)
def catalog(db):
    register_bundled_packs()


@pytest.fixture
def ops(alice):
    group = Group.objects.create(name="ops")
    TeamAccess.objects.create(group=group, packs=["core"], actions=["demo.greet"])
    group.user_set.add(alice)
    return group


def rule(ref, action_ref, owner):
    pack, name = ref.split(".", 1)
    return Rule.objects.create(
        ref=ref, pack=pack, name=name, trigger_ref="core.st2.webhook", action_ref=action_ref,
        trigger_type="core.st2.webhook", created_by=owner,
    )  # fmt: skip


# --- refusals -------------------------------------------------------------------------------


def test_require_admin_names_the_permission_or_says_the_refusal(admin_user, alice):
    access.require_admin(caller(admin_user), "action_create")
    with pytest.raises(AccessDenied) as refused:
        access.require_admin(caller(alice), "action_create")
    assert refused.value.message == (
        'User "alice" doesn\'t have required permission "action_create"'
    )
    with pytest.raises(AccessDenied, match="^Decrypt option requires administrator access$"):
        access.require_admin(caller(alice), refusal="Decrypt option requires administrator access")


def test_require_owner_lets_the_owner_and_admins_through(admin_user, alice, bob):
    access.require_owner(caller(alice), "alice", 'rule "demo.r"')
    access.require_owner(caller(admin_user), "alice", 'rule "demo.r"')
    with pytest.raises(AccessDenied) as refused:
        access.require_owner(caller(bob), "alice", 'rule "demo.r"')
    assert refused.value.message == 'User "bob" may not change rule "demo.r".'


def test_only_admins_may_re_emit(admin_user, alice):
    access.require_may_re_emit(caller(admin_user))
    with pytest.raises(AccessDenied, match='User "alice" may not re-emit trigger instances'):
        access.require_may_re_emit(caller(alice))


@pytest.mark.parametrize("pack", sorted(access.SYSTEM_PACKS))
def test_system_packs_cannot_be_changed_by_anyone(pack):
    with pytest.raises(InvalidInput, match="system level packs can't be manipulated"):
        access.refuse_system_pack(pack)
    access.refuse_system_pack("demo")


# --- what a member sees ---------------------------------------------------------------------


def test_a_members_actions_packs_and_rules_are_those_their_team_grants(alice, ops):
    alice_sees = caller(alice)
    refs = set(access.visible_actions(alice_sees).values_list("ref", flat=True))
    assert refs == set(Action.objects.filter(pack="core").values_list("ref", flat=True)) | {
        "demo.greet"
    }
    assert set(access.visible_packs(alice_sees).values_list("ref", flat=True)) == {"core", "demo"}
    rule("demo.mine", "demo.deploy", "alice")
    rule("demo.theirs_granted", "core.local", "bob")
    rule("demo.theirs_hidden", "demo.deploy", "bob")
    visible = set(access.visible_rules(alice_sees).values_list("ref", flat=True))
    assert visible == {"demo.mine", "demo.theirs_granted"}


@pytest.mark.parametrize(
    "find, hidden, missing",
    [
        (access.find_action, "demo.deploy", "demo.nothing"),
        (access.find_pack, "default", "nothing"),
        (access.find_rule, "demo.theirs_hidden", "demo.nothing"),
    ],
)
def test_hidden_is_answered_as_missing(alice, ops, find, hidden, missing):
    rule("demo.theirs_hidden", "demo.deploy", "bob")
    with pytest.raises(NotFound) as hidden_answer:
        find(caller(alice), hidden)
    with pytest.raises(NotFound) as missing_answer:
        find(caller(alice), missing)
    assert hidden_answer.value.message == missing_answer.value.message.replace(missing, hidden)


def test_staff_and_users_in_no_team_see_everything_by_default(admin_user, bob):
    for who in (caller(admin_user), caller(bob)):
        assert access.visible_actions(who).count() == Action.objects.count()
        assert access.visible_packs(who).count() == Pack.objects.count()


def test_with_default_access_none_a_user_in_no_team_sees_nothing(bob, settings):
    settings.ST2_DEFAULT_ACCESS = "none"
    assert not access.visible_actions(caller(bob)).exists()
    assert not access.visible_packs(caller(bob)).exists()


def test_stream_events_are_the_callers_own(admin_user, alice):
    for user in ("alice", "bob"):
        StreamEvent.objects.create(name="st2.execution__create", user=user, data={})
    assert set(access.visible_stream_events(caller(alice)).values_list("user", flat=True)) == {
        "alice"
    }
    assert access.visible_stream_events(caller(admin_user)).count() == 2


# --- records --------------------------------------------------------------------------------


def test_by_ref_or_id_finds_by_either():
    action = Action.objects.get(ref="demo.greet")
    assert records.by_ref_or_id(Action.objects.all(), action.id) == action
    assert records.by_ref_or_id(Action.objects.all(), "demo.greet") == action
    runner = RunnerType.objects.get(name="local-shell-cmd")
    assert records.by_ref_or_id(RunnerType.objects, "local-shell-cmd", ref_field="name") == runner


def test_a_dotted_ref_costs_one_query():
    with CaptureQueriesContext(connection) as queries:
        records.by_ref_or_id(Action.objects.all(), "demo.greet")
    assert len(queries) == 1


def test_by_ref_or_id_answers_404_with_the_given_message():
    with pytest.raises(NotFound, match='^Resource with a reference or id "x.y" not found$'):
        records.by_ref_or_id(Action.objects.all(), "x.y")
    with pytest.raises(NotFound, match="^no such pack$"):
        records.by_ref_or_id(Pack.objects.all(), "nothing", "no such pack")


def test_save_or_409_names_the_row_that_has_the_ref_already():
    existing = Pack.objects.get(ref="demo")
    with pytest.raises(Conflict) as conflict:
        records.save_or_409(Pack(ref="demo", name="again"), "duplicate pack")
    assert conflict.value.message == "duplicate pack"
    assert conflict.value.extra == {"conflict-id": existing.id}
    renamed = records.save_or_409(Pack(ref="demo2", name="demo2"), "duplicate pack")
    assert Pack.objects.get(ref="demo2") == renamed
    existing.name = "Demo"
    records.save_or_409(existing, "duplicate pack")  # a change of itself is no duplicate
    assert Pack.objects.get(ref="demo").name == "Demo"
