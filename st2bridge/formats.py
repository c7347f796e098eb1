"""Formats shared by services and the API."""

from datetime import UTC


def isotime(moment):
    """StackStorm's timestamp format: UTC, microseconds, 'Z'."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def without_nulls(data):
    return {key: value for key, value in data.items() if value is not None}
