"""A small HTTP client for a StackStorm-compatible API: the ONLY way the portal reaches
StackStorm. It speaks to the embedded API of this site or to a remote StackStorm alike,
so it imports nothing from st2bridge's models or services.

    client = St2Client.from_settings(token=request.session["st2_token"])
    items, total = client.list_executions(action="core.local", limit=10)

A refusal or failure of the API raises ApiError (ApiUnauthorized for 401, ApiUnavailable when
no answer came): the client's side of an error, named apart from st2bridge.errors, which the
server's services raise.
"""

from urllib.parse import quote

import requests

from .addresses import PORTAL_ADDRESS_HEADER, vouch_for

DEFAULT_TIMEOUT = 30
PAGE_SIZE = 100  # StackStorm's largest page for non-admins


class ApiError(Exception):
    """The API refused or failed a call: `status` (None when it could not be reached) and
    StackStorm's `faultstring`; `retry_after` (seconds) when it throttles."""

    def __init__(self, status, faultstring, retry_after=None):
        super().__init__(f"{status}: {faultstring}" if status else faultstring)
        self.status = status
        self.faultstring = faultstring
        self.retry_after = retry_after


class ApiUnauthorized(ApiError):
    """401: bad credentials, or a token that expired or was revoked."""


class ApiUnavailable(ApiError):
    """The API did not answer (connection refused, timeout)."""


def _path(value):
    return quote(str(value), safe="")


class St2Client:
    def __init__(
        self,
        auth_url,
        api_url,
        stream_url,
        token=None,
        api_key=None,
        timeout=DEFAULT_TIMEOUT,
        embedded=False,
        on_behalf_of=None,
    ):
        self.auth_url = auth_url.rstrip("/")
        self.api_url = api_url.rstrip("/")
        self.stream_url = stream_url.rstrip("/")
        self.timeout = timeout
        self.page_size = PAGE_SIZE
        self.embedded = embedded  # the embedded API of this site, which shares our SECRET_KEY
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"
        if token:
            self.session.headers["X-Auth-Token"] = token
        if api_key:
            self.session.headers["St2-Api-Key"] = api_key
        # (browser's address, username): vouched for on each call to the embedded API, which
        # records that address in its audit log rather than the portal's own.
        self.on_behalf_of = on_behalf_of if embedded else None

    @classmethod
    def from_settings(cls, token=None, api_key=None, on_behalf_of=None):
        """A client for the configured StackStorm: ST2_AUTH_URL / ST2_API_URL / ST2_STREAM_URL,
        each defaulting to the embedded API of this site (ST2_EMBEDDED_BASE_URL)."""
        from django.conf import settings

        base = settings.ST2_EMBEDDED_BASE_URL.rstrip("/")
        return cls(
            settings.ST2_AUTH_URL or f"{base}/auth/v1",
            settings.ST2_API_URL or f"{base}/api/v1",
            settings.ST2_STREAM_URL or f"{base}/stream/v1",
            token=token,
            api_key=api_key,
            timeout=settings.ST2_CLIENT_TIMEOUT,
            embedded=not settings.ST2_AUTH_URL,
            on_behalf_of=on_behalf_of,
        )

    def close(self):
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # --- transport ------------------------------------------------------------------------

    def _request(self, method, url, **kwargs):
        if self.on_behalf_of and all(self.on_behalf_of):
            headers = kwargs.setdefault("headers", {})
            headers.setdefault(PORTAL_ADDRESS_HEADER, vouch_for(*self.on_behalf_of))
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as error:
            raise ApiUnavailable(None, f"StackStorm API unreachable: {error}") from error
        if response.status_code >= 400:
            raise _error_for(response)
        return response

    def _get(self, path, params=None):
        return self._request("GET", f"{self.api_url}{path}", params=params)

    def _get_all(self, path, params=None):
        """Every item of a list endpoint, page by page (X-Total-Count tells when to stop)."""
        items, offset = [], 0
        while True:
            query = {**(params or {}), "limit": self.page_size, "offset": offset}
            response = self._get(path, query)
            page = response.json()
            items.extend(page)
            offset += len(page)
            total = int(response.headers.get("X-Total-Count", offset))
            if not page or offset >= total:
                return items

    def _page(self, path, limit, offset, filters):
        """(items, total) of one page of a list endpoint; None and "" filters are left out."""
        params = {name: value for name, value in filters.items() if value not in (None, "")}
        response = self._get(path, {**params, "limit": limit, "offset": offset})
        return response.json(), int(response.headers.get("X-Total-Count", 0))

    # --- auth -----------------------------------------------------------------------------

    def login(self, username, password, ttl=None, client_address=None):
        """POST /auth/v1/tokens: the token dict ({"token", "user", "expiry", ...}).
        `client_address` (the browser's) goes with it, so the API throttles failed logins per
        person rather than per portal: signed for the embedded API (which believes no
        X-Forwarded-For from loopback), in X-Forwarded-For for a remote StackStorm."""
        body = {"ttl": ttl} if ttl is not None else {}
        headers = {}
        if client_address and self.embedded:
            headers[PORTAL_ADDRESS_HEADER] = vouch_for(client_address, username)
        elif client_address:
            headers["X-Forwarded-For"] = client_address
        response = self._request(
            "POST",
            f"{self.auth_url}/tokens",
            json=body,
            auth=(username, password),
            headers=headers,
        )
        return response.json()

    def whoami(self):
        return self._get("/user").json()

    def revoke_token(self, token):
        """End `token` where the server allows it (an extension of this project's API). A
        StackStorm server cannot: its tokens live until they expire, so False, as for a
        token already gone; True when revoked."""
        try:
            self._request("POST", f"{self.auth_url}/tokens/revoke", json={"token": token})
        except ApiError:
            return False
        return True

    def extensions(self):
        """What the server offers beyond StackStorm's API (GET /extensions): {} from a
        StackStorm server, which has no such endpoint. See st2bridge/api/user.py."""
        try:
            return self._get("/extensions").json()
        except ApiError as error:
            if error.status in (404, 405):
                return {}
            raise

    # --- catalog --------------------------------------------------------------------------

    def list_packs(self):
        return self._get_all("/packs")

    def get_pack(self, ref):
        return self._get(f"/packs/{_path(ref)}").json()

    def pack_problems(self):
        """What the last pack registration could not take, or took with a warning (an
        extension for admins, GET /extensions: pack_problems): [{pack, directory, file,
        reason, level}]."""
        return self._get("/packs/views/problems").json()

    def list_actions(self, pack=None):
        return self._get_all("/actions", {"pack": pack} if pack else None)

    def list_packs_page(self, limit=50, offset=0, **filters):
        """(packs, total): one page; filters as the API names them (ref, name,
        include_attributes, ...); None values are left out."""
        return self._page("/packs", limit, offset, filters)

    def list_actions_page(self, limit=50, offset=0, **filters):
        """(actions, total): one page; filters as the API names them (pack, name, tags,
        include_attributes, and q where the server offers `action_search`)."""
        return self._page("/actions", limit, offset, filters)

    def first_actions(self, count, **filters):
        """(up to `count` actions from the first, total), page by page: for searching a
        server without ?q= (a StackStorm server) in at most count / page_size calls."""
        actions, total = [], None
        while total is None or len(actions) < min(count, total):
            limit = min(self.page_size, count - len(actions))
            page, total = self.list_actions_page(limit, len(actions), **filters)
            if not page:
                break
            actions.extend(page)
        return actions, total

    def pack_action_counts(self, pack_refs):
        """{pack ref: how many actions of it the caller sees}, in one call: an extension of
        this project's API (`pack_action_counts` in extensions())."""
        params = {"pack": ",".join(pack_refs)}
        return self._get("/packs/views/action_counts", params).json()

    def get_action(self, ref):
        return self._get(f"/actions/{_path(ref)}").json()

    def action_parameters(self, ref):
        """Runner and action parameters merged, as the API validates them."""
        return self._get(f"/actions/views/parameters/{_path(ref)}").json()["parameters"]

    # --- pack configs ---------------------------------------------------------------------

    def packs_with_config_schema(self, packs):
        """The refs among `packs` that have a config schema (one call)."""
        wanted = set(packs)
        return {schema["pack"] for schema in self._get_all("/config_schemas")} & wanted

    def get_config_schema(self, pack):
        """The pack's config schema items ({} when it has none)."""
        try:
            return self._get(f"/config_schemas/{_path(pack)}").json()["attributes"]
        except ApiError as error:
            if error.status == 404:
                return {}
            raise

    def get_config(self, pack):
        """The pack's config values, secrets masked ({} when it has no config yet)."""
        try:
            return self._get(f"/configs/{_path(pack)}").json()["values"]
        except ApiError as error:
            if error.status == 404:
                return {}
            raise

    def set_config(self, pack, values):
        """Replace the pack's config (administrators); secrets sent masked keep their value."""
        url = f"{self.api_url}/configs/{_path(pack)}"
        return self._request("PUT", url, json=values).json()["values"]

    # --- executions -----------------------------------------------------------------------

    def list_executions(self, limit=50, offset=0, **filters):
        """(executions, total) newest first; filters as the API names them (action, status,
        user, timestamp_gt, ...); None values are left out."""
        params = {name: value for name, value in filters.items() if value not in (None, "")}
        response = self._get("/executions", {**params, "limit": limit, "offset": offset})
        return response.json(), int(response.headers.get("X-Total-Count", 0))

    def get_execution(self, execution_id):
        return self._get(f"/executions/{_path(execution_id)}").json()

    def launch(self, action, parameters=None):
        body = {"action": action, "parameters": parameters or {}}
        return self._request("POST", f"{self.api_url}/executions", json=body).json()

    def execution_output(self, execution_id, output_type="all"):
        """The output so far as text (stdout and stderr interleaved for "all")."""
        path = f"/executions/{_path(execution_id)}/output"
        return self._get(path, {"output_type": output_type}).text

    def cancel_execution(self, execution_id):
        url = f"{self.api_url}/executions/{_path(execution_id)}"
        return self._request("DELETE", url).json()

    def re_run(self, execution_id, parameters=None):
        """A new execution with the original parameters, `parameters` on top; secrets left
        out are reused by the server and never travel back."""
        url = f"{self.api_url}/executions/{_path(execution_id)}/re_run"
        return self._request("POST", url, json={"parameters": parameters or {}}).json()

    # --- rules ------------------------------------------------------------------------------

    def list_rules(self, limit=50, offset=0, **filters):
        """(rules, total); filters as the API names them (pack, enabled, trigger, action)."""
        params = {name: value for name, value in filters.items() if value not in (None, "")}
        response = self._get("/rules", {**params, "limit": limit, "offset": offset})
        return response.json(), int(response.headers.get("X-Total-Count", 0))

    def get_rule(self, ref):
        return self._get(f"/rules/{_path(ref)}").json()

    def create_rule(self, rule):
        return self._request("POST", f"{self.api_url}/rules", json=rule).json()

    def update_rule(self, ref, rule):
        return self._request("PUT", f"{self.api_url}/rules/{_path(ref)}", json=rule).json()

    def delete_rule(self, ref):
        self._request("DELETE", f"{self.api_url}/rules/{_path(ref)}")

    def list_trigger_types(self):
        return self._get_all("/triggertypes")

    def list_enforcements(self, rule_ref=None, limit=10):
        """The newest enforcements first: of one rule, or of every rule the caller may see."""
        params = {"rule_ref": rule_ref, "limit": limit} if rule_ref else {"limit": limit}
        return self._get("/ruleenforcements", params).json()

    # --- API keys ---------------------------------------------------------------------------

    def list_api_keys(self, limit=50, offset=0, **filters):
        """(keys, total): the caller's keys, or for an admin everyone's (filters: user, and
        metadata="name:value", an extension a real StackStorm ignores)."""
        params = {name: value for name, value in filters.items() if value not in (None, "")}
        response = self._get("/apikeys", {**params, "limit": limit, "offset": offset})
        return response.json(), int(response.headers.get("X-Total-Count", 0))

    def get_api_key(self, key_id):
        return self._get(f"/apikeys/{_path(key_id)}").json()

    def create_api_key(self, metadata, expires_at=None):
        """The new key's dict; its "key" is the only time the raw key is seen."""
        body = {"metadata": metadata}
        if expires_at:
            body["expires_at"] = expires_at
        return self._request("POST", f"{self.api_url}/apikeys", json=body).json()

    def update_api_key(self, key_id, **changes):
        """PUT the key back with `changes`, as `st2 apikey enable/disable` do."""
        key = {**self.get_api_key(key_id), **changes}
        url = f"{self.api_url}/apikeys/{_path(key_id)}"
        return self._request("PUT", url, json=key).json()

    def delete_api_key(self, key_id):
        self._request("DELETE", f"{self.api_url}/apikeys/{_path(key_id)}")

    # --- teams (this project's extension: extensions()["teams"]; st2bridge/api/teams.py) ----

    def list_teams(self, limit=50, offset=0, **filters):
        """(teams, total): every team for an admin, else the caller's (filters: member, name)."""
        return self._page("/teams", limit, offset, filters)

    def get_team(self, team_id):
        return self._get(f"/teams/{_path(team_id)}").json()

    def create_team(self, name, members=(), packs=(), actions=()):
        body = {"name": name, "members": list(members), "packs": list(packs)}
        body["actions"] = list(actions)
        return self._request("POST", f"{self.api_url}/teams", json=body).json()

    def update_team(self, team_id, name, **fields):
        """Rename, and replace the members, packs or actions given (the others are kept)."""
        url = f"{self.api_url}/teams/{_path(team_id)}"
        return self._request("PUT", url, json={"name": name, **fields}).json()

    def delete_team(self, team_id):
        self._request("DELETE", f"{self.api_url}/teams/{_path(team_id)}")

    def add_team_member(self, team_id, username):
        url = f"{self.api_url}/teams/{_path(team_id)}/members/{_path(username)}"
        return self._request("PUT", url).json()

    def remove_team_member(self, team_id, username):
        url = f"{self.api_url}/teams/{_path(team_id)}/members/{_path(username)}"
        self._request("DELETE", url)

    def list_user_access(self, limit=50, offset=0, **filters):
        """(users, total): what each may run and why; an admin's filters: user, action (those
        who may run it). Others get their own."""
        return self._page("/useraccess", limit, offset, filters)

    def user_access(self, username):
        return self._get(f"/useraccess/{_path(username)}").json()

    def list_grantables(self, q="", kind="", limit=20, offset=0):
        """(packs and actions matching every word of `q`, total), for an admin to grant."""
        return self._page("/grantables", limit, offset, {"q": q, "kind": kind})

    # --- the audit log (an extension: GET /api/v1/audit, administrators) -------------------

    def list_audit(self, limit=50, offset=0, **filters):
        """(records, total) of one page of the audit log, newest first; `before_id` pages
        by id (an export's way: new records do not shift it)."""
        return self._page("/audit", limit, offset, filters)

    # --- launch templates (an extension: extensions()["templates"]; api/templates.py) --------

    def list_templates(self, limit=50, offset=0, **filters):
        """(templates, total): every one for an admin, else those the caller's teams grant."""
        return self._page("/templates", limit, offset, filters)

    def get_template(self, ref):
        return self._get(f"/templates/{_path(ref)}").json()

    def create_template(self, template):
        return self._request("POST", f"{self.api_url}/templates", json=template).json()

    def update_template(self, ref, template):
        """A new version of the template."""
        url = f"{self.api_url}/templates/{_path(ref)}"
        return self._request("PUT", url, json=template).json()

    def delete_template(self, ref):
        self._request("DELETE", f"{self.api_url}/templates/{_path(ref)}")

    def run_template(self, ref, parameters=None):
        """The new execution; only the template's exposed parameters may be given."""
        url = f"{self.api_url}/templates/{_path(ref)}/run"
        return self._request("POST", url, json={"parameters": parameters or {}}).json()

    def export_template(self, ref):
        """The template as a YAML document (text)."""
        return self._get(f"/templates/{_path(ref)}/export").text

    def import_template(self, text):
        """The template a YAML document describes, created or given a new version."""
        headers = {"Content-Type": "application/x-yaml; charset=utf-8"}
        url = f"{self.api_url}/templates/import"
        return self._request("POST", url, data=text.encode(), headers=headers).json()

    def template_versions(self, ref):
        return self._get(f"/templates/{_path(ref)}/versions", {"limit": 100}).json()


def _error_for(response):
    try:
        faultstring = response.json().get("faultstring") or response.reason
    except (ValueError, AttributeError):
        faultstring = response.text[:500] or response.reason
    retry_after = response.headers.get("Retry-After")
    retry_after = int(retry_after) if retry_after and retry_after.isdigit() else None
    kind = ApiUnauthorized if response.status_code == 401 else ApiError
    return kind(response.status_code, faultstring, retry_after)
