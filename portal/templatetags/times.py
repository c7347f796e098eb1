"""Times in the portal's pages, one way everywhere:

    {% load times %}
    {{ execution.start_timestamp|time_tag }}

renders `<time datetime="2024-05-01T12:34:56Z">2024-05-01 12:34:56 UTC</time>`: the exact UTC
time to the second, readable without JavaScript; static/js/times.js then shows it to the
viewer as relative text ("3 minutes ago") with the exact local and UTC times in its title.
Takes the API's ISO 8601 strings or datetimes (naive ones are taken as UTC); an empty value
renders nothing, and text that is no time is shown as it is (escaped)."""

from datetime import UTC, datetime

from django import template
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html

register = template.Library()


def as_utc(value):
    """`value` (a datetime or an ISO 8601 string) as an aware UTC datetime, or None."""
    if isinstance(value, str):
        try:
            value = parse_datetime(value.strip())
        except ValueError:  # well formed but out of range, such as a 25th hour
            return None
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0)


@register.filter
def time_tag(value):
    moment = as_utc(value)
    if moment is None:
        return "" if value in (None, "") else value
    return format_html(
        '<time datetime="{}">{}</time>',
        moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        moment.strftime("%Y-%m-%d %H:%M:%S UTC"),
    )
