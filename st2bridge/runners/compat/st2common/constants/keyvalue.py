"""st2common.constants.keyvalue: the datastore's scopes and name separator."""

DATASTORE_PARENT_SCOPE = "st2kv"
DATASTORE_SCOPE_SEPARATOR = "."
SYSTEM_SCOPE = "system"
USER_SCOPE = "user"
FULL_SYSTEM_SCOPE = "st2kv.system"
FULL_USER_SCOPE = "st2kv.user"
ALLOWED_SCOPES = [SYSTEM_SCOPE, USER_SCOPE, FULL_SYSTEM_SCOPE, FULL_USER_SCOPE]
DATASTORE_KEY_SEPARATOR = ":"
