"""Formats shared by services and the API."""

import hashlib
from datetime import UTC


def isotime(moment):
    """StackStorm's timestamp format: UTC, microseconds, 'Z'."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def without_nulls(data):
    return {key: value for key, value in data.items() if value is not None}


def fixed_id(name):
    """An id in StackStorm's form (24 hex digits) for something every server has without a
    row of its own (rule types, policy types, system roles): derived from `name`, so it is
    the same on every server and every run."""
    return hashlib.sha256(name.encode()).hexdigest()[:24]
