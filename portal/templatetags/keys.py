"""An API key's expiry in the portal's pages (keys page, everyone's keys, dashboard), one way
everywhere:

    {% load keys %}
    {{ key|expiry_badge }}  {% if key|is_expired %}...{% endif %}

A key that expires within KEY_EXPIRY_WARNING_DAYS gets an amber badge, "expires in 3 days";
an expired key a red one, "expired 2 hours ago" (the server refuses it as a credential). The
relative text is the server's, inside a <time> element that static/js/times.js keeps up to
date in the viewer's language; its title holds the exact UTC time."""

from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil

from st2bridge.constants import KEY_EXPIRY_WARNING_DAYS

from .times import as_utc

register = template.Library()
WARNING = timedelta(days=KEY_EXPIRY_WARNING_DAYS)


def expiry_state(key, now=None):
    """Where an API key (the API's dict) stands: "expired", "soon" (within WARNING) or ""."""
    moment = as_utc(key.get("expires_at"))
    if moment is None:
        return ""
    now = now or timezone.now()
    if moment <= now:
        return "expired"
    return "soon" if moment <= now + WARNING else ""


@register.filter
def is_expired(key):
    return expiry_state(key) == "expired"


@register.filter
def expiry_badge(key):
    now = timezone.now()
    state = expiry_state(key, now)
    if not state:
        return ""
    moment = as_utc(key["expires_at"])
    exact = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if state == "expired":
        return format_html(
            '<span class="badge text-bg-danger expiry">expired '
            '<time datetime="{}" title="{}">{} ago</time></span>',
            stamp,
            exact,
            timesince(moment, now, depth=1),
        )
    return format_html(
        '<span class="badge text-bg-warning expiry">expires '
        '<time datetime="{}" title="{}">in {}</time></span>',
        stamp,
        exact,
        timeuntil(moment, now, depth=1),
    )
