"""An execution's status as a Bootstrap badge, the same on every page:

    {% load executions %}
    {{ execution.status|status_badge }}

renders `<span class="badge text-bg-success status status-succeeded">succeeded</span>`."""

from django import template
from django.utils.html import format_html

register = template.Library()

COLOURS = {
    "succeeded": "success",
    "failed": "danger",
    "timeout": "danger",
    "abandoned": "danger",
    "running": "primary",
    "canceling": "warning",
    "canceled": "secondary",
}  # requested, scheduled, delayed, pending and anything new: "info"


@register.filter
def status_badge(status):
    status = str(status or "")
    colour = COLOURS.get(status, "info")
    return format_html(
        '<span class="badge text-bg-{} status status-{}">{}</span>', colour, status, status
    )
