"""Keys near and past their expiry (issue 18), as a person sees them in a real browser: the
badges read as relative times in the viewer's language (static/js/times.js)."""

import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from st2bridge.models import ApiKey
from tests.portal_support import api_as

from .conftest import sign_in


def test_a_member_sees_her_keys_expiring_and_expired_on_the_dashboard_and_keys_page(page, alice):
    api = api_as("alice")
    soon = api.create_api_key(
        {"name": "nightly"}, (timezone.now() + timedelta(days=3, hours=2)).isoformat()
    )
    gone = api.create_api_key({"name": "old-ci"}, (timezone.now() + timedelta(days=1)).isoformat())
    ApiKey.objects.filter(pk=gone["id"]).update(expires_at=timezone.now() - timedelta(hours=5))
    refused = []
    page.on(
        "console",
        lambda message: refused.append(message.text) if "Refused" in message.text else None,
    )

    sign_in(page, "alice")
    keys = page.get_by_role("region", name="Your keys expiring soon or expired")
    expect(keys.get_by_role("listitem").filter(has_text="nightly")).to_contain_text(
        "expires in 3 days"
    )
    expect(keys.get_by_role("listitem").filter(has_text="old-ci")).to_contain_text(
        "expired 5 hours ago"
    )

    keys.get_by_role("link", name="API keys").click()
    nightly = page.locator(f"#key-{soon['id']}")
    expect(nightly.locator(".expiry")).to_have_text("expires in 3 days")
    expect(nightly.locator(".expiry time")).to_have_attribute("title", re.compile(r"UTC"))
    expect(nightly).to_contain_text("enabled")
    old = page.locator(f"#key-{gone['id']}")
    expect(old.locator(".expiry")).to_have_text("expired 5 hours ago")
    expect(old.get_by_text("expired", exact=True)).to_be_visible()
    assert refused == []
