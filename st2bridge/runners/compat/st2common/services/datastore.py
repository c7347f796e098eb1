"""st2common.services.datastore: the datastore of a Python action's `self.action_service`,
as StackStorm's ActionDatastoreService: calls to the API (ST2_ACTION_API_URL) with the
execution's token (ST2_ACTION_AUTH_TOKEN), so an action reads and writes exactly what its
execution's user may, and `scope="user"` means that user's items.

Local names (local=True, the default) get StackStorm's "<pack>.<ActionClass>:" prefix. As in
StackStorm, get_value answers None and delete_value False when the call fails (the reason
goes to the action's log, on the execution's stderr); set_value and list_values raise.

Standard library only: this runs inside the action's process, on the pack's interpreter.
"""

import json
import os
import urllib.error
import urllib.parse
import urllib.request

from st2common.constants.keyvalue import ALLOWED_SCOPES, DATASTORE_KEY_SEPARATOR, SYSTEM_SCOPE

TIMEOUT = 60  # seconds per API call
MAX_PAGE_SIZE = 100  # StackStorm's api.max_page_size


class DatastoreError(RuntimeError):
    """A datastore call failed: `status` is the API's answer (None when it was not reached)."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class KeyValuePair:
    """An item of the datastore as the API shows it (name, value, scope, secret, ...)."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def __repr__(self):
        return f"<KeyValuePair name={getattr(self, 'name', None)!r}>"


class ActionDatastoreService:
    DATASTORE_NAME_SEPARATOR = DATASTORE_KEY_SEPARATOR

    def __init__(self, logger, pack_name, class_name, auth_token=None, api_url=None):
        self._logger = logger
        self._pack_name = pack_name
        self._class_name = class_name
        self._token = auth_token or os.environ.get("ST2_ACTION_AUTH_TOKEN")
        self._api_url = (api_url or os.environ.get("ST2_ACTION_API_URL") or "").rstrip("/")
        # Calls go straight to this server: no proxy from the environment sees the token.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # --- StackStorm's methods -----------------------------------------------------------

    def get_user_info(self):
        return self._call("GET", "/user")

    def list_values(self, local=True, prefix=None, limit=None, offset=0):
        query = {"limit": limit or MAX_PAGE_SIZE, "offset": offset}
        key_prefix = self._full_prefix(local, prefix)
        if key_prefix:
            query["prefix"] = key_prefix
        return [KeyValuePair(**item) for item in self._call("GET", "/keys", query)]

    def get_value(self, name, local=True, scope=SYSTEM_SCOPE, decrypt=False):
        self._check_scope(scope)
        name = self._full_name(name, local)
        query = {"scope": scope, "decrypt": str(bool(decrypt)).lower()}
        try:
            item = self._call("GET", f"/keys/{_quoted(name)}", query)
        except DatastoreError as error:
            if error.status != 404:
                self._logger.error("Datastore get_value(%r) failed: %s", name, error)
            return None
        return item.get("value")

    def set_value(self, name, value, ttl=None, local=True, scope=SYSTEM_SCOPE, encrypt=False):
        self._check_scope(scope)
        name = self._full_name(name, local)
        body = {"name": name, "value": str(value), "scope": scope}
        if encrypt:
            body["secret"] = True
        if ttl:
            body["ttl"] = ttl
        self._call("PUT", f"/keys/{_quoted(name)}", {"scope": scope}, body)
        return True

    def delete_value(self, name, local=True, scope=SYSTEM_SCOPE):
        self._check_scope(scope)
        name = self._full_name(name, local)
        try:
            self._call("DELETE", f"/keys/{_quoted(name)}", {"scope": scope})
        except DatastoreError as error:
            if error.status != 404:
                self._logger.error("Datastore delete_value(%r) failed: %s", name, error)
            return False
        return True

    # --- names ----------------------------------------------------------------------------

    def _local_prefix(self):
        return f"{self._pack_name}.{self._class_name}{self.DATASTORE_NAME_SEPARATOR}"

    def _full_name(self, name, local):
        return self._local_prefix() + name if local else name

    def _full_prefix(self, local, prefix=None):
        if not local:
            return prefix
        return self._local_prefix() + (prefix or "")

    @staticmethod
    def _check_scope(scope):
        if scope not in ALLOWED_SCOPES:
            raise ValueError(f"Scope {scope} is unsupported.")

    # --- HTTP ---------------------------------------------------------------------------

    def _call(self, method, path, query=None, body=None):
        if not self._api_url or not self._token:
            raise DatastoreError(
                "The StackStorm API is not available to this action: its process has no "
                "ST2_ACTION_API_URL or ST2_ACTION_AUTH_TOKEN."
            )
        url = self._api_url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
        request.add_header("X-Auth-Token", self._token)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with self._opener.open(request, timeout=TIMEOUT) as response:
                text = response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            raise DatastoreError(_faultstring(error), error.code) from None
        except (urllib.error.URLError, OSError) as error:
            problem = f"The StackStorm API at {self._api_url} did not answer: {error}"
            raise DatastoreError(problem) from None
        return json.loads(text) if text.strip() else None


def _quoted(name):
    return urllib.parse.quote(name, safe="")


def _faultstring(error):
    try:
        found = json.loads(error.read().decode("utf-8")).get("faultstring")
    except (ValueError, AttributeError, OSError):
        found = None
    return f"{error.code}: {found or error.reason}"
