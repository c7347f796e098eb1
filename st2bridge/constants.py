"""Names that several modules share, each defined once. Pure: imports nothing.

Migrations keep their own copies: a migration must not change when this module does.
"""

# Who runs the actions of rules registered from pack directories (StackStorm's system user).
# An unknown user of this name is an administrator; an account of that name is what it is.
SYSTEM_USER = "stanley"

# What a secret value reads as wherever it is shown: secret parameters (st2bridge.params),
# an API key's hash to anyone but its owner and administrators (st2bridge.apikeys).
MASK = "********"

# The trigger every finished execution fires (notes §5.5).
ACTION_TRIGGER = "core.st2.generic.actiontrigger"

# Trigger types this server emits for its own events (st2bridge.server_events), in pack
# `core` as StackStorm's internal triggers are (core.st2.key_value_pair.create, ...).
API_KEY_EXPIRING = "core.st2.api_key.expiring"
TEMPLATE_EXECUTION_FAILED = "core.st2.template.execution_failed"
TEAM_GRANT_CHANGED = "core.st2.team.grant_changed"
SERVER_EVENTS = (API_KEY_EXPIRING, TEMPLATE_EXECUTION_FAILED, TEAM_GRANT_CHANGED)
# StackStorm's internal trigger types (action triggers, datastore changes, timers, ...).
INTERNAL_TRIGGER_PREFIX = "core.st2."

# An API key this close to its expiry is flagged (keys page, dashboard) and fires
# API_KEY_EXPIRING once.
KEY_EXPIRY_WARNING_DAYS = 7
