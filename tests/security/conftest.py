"""Fixtures shared by the attacks of tests/security/."""

import pytest
from django.contrib.auth.models import Group

from st2bridge.models import TeamAccess


@pytest.fixture
def member_api(bob, bob_api):
    """bob, in a team granted only the demo pack: the issue's attacker."""
    group = Group.objects.create(name="demo-only")
    TeamAccess.objects.create(group=group, packs=["demo"], actions=[])
    group.user_set.add(bob)
    return bob_api
