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
