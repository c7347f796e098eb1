"""Teams (issue 14): admins create, rename and delete teams, add and remove members, grant and
revoke packs and actions (found by searching the catalog through the API, a page at a time),
and see who may run what; members see their own teams and what they may run, read-only.
Everything goes through the API's teams extension (st2bridge/api/teams.py), which decides
again: a forged post from a member is refused there as well as here. A StackStorm server has
no such extension: its teams are its RBAC's, and the pages say so."""

import re
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from portal.access import st2_login_required
from portal.paging import page_number, pager, window
from st2bridge.client import ApiError

CHOICES_PAGE = 20  # packs, actions and templates offered per page when granting
GRANTS = {"pack": "packs", "action": "actions", "template": "templates"}  # kind -> team field
KINDS = tuple(GRANTS)
REF_SEPARATORS = re.compile(r"[\s,]+")


def teams_page(view):
    """Signed in; where the server has no teams extension, the page saying teams are its
    RBAC's (a 404 for everything but the Teams page itself)."""

    @st2_login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.st2_extensions.get("teams"):
            status = 200 if request.resolver_match.url_name == "teams" else 404
            return render(request, "portal/teams/unavailable.html", status=status)
        return view(request, *args, **kwargs)

    return wrapper


class BadChoice(Exception):
    """A change the portal refuses before asking the API, beside `field`."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field, self.message = field, message


def _require_admin(request):
    if not request.st2_is_admin:
        raise PermissionDenied("Only administrators change teams.")


def _refused(error, fields):
    """(field, message) for a 400 or 409 of the API, the field named by the faultstring's
    prefix when it is one of `fields` (else None); anything else is raised again."""
    if error.status not in (400, 409):
        raise error
    prefix = error.faultstring.split(":", 1)[0]
    return (prefix if prefix in fields else None), error.faultstring


# --- the list, and creating a team ----------------------------------------------------------


@teams_page
def team_list(request):
    """Admins: every team and the form for a new one (POST creates it). Members: theirs."""
    name, error, status = "", None, 200
    if request.method == "POST":
        _require_admin(request)
        name = request.POST.get("name", "").strip()
        try:
            team = request.st2.create_team(name)
        except ApiError as refused:
            error, status = _refused(refused, {"name"})[1], 400
        else:
            messages.success(request, f"Team {team['name']} created. Add members and grants.")
            return redirect("team", team_id=team["id"])
    page = page_number(request.GET)
    teams, total = request.st2.list_teams(**window(page))
    context = {"teams": teams, "name": name, "name_error": error, **pager(total, page)}
    return render(request, "portal/teams/list.html", context, status=status)


# --- one team -------------------------------------------------------------------------------


@teams_page
def team_detail(request, team_id):
    """The team; for admins, the forms that change it and the catalog to grant from (htmx
    asks for the choices alone as the search is typed)."""
    team = request.st2.get_team(team_id)
    if request.headers.get("HX-Request") and request.st2_is_admin:
        return render(request, "portal/teams/_choices.html", _choices(request, team))
    return _detail(request, team)


def _detail(request, team, errors=None, values=None, status=200):
    """The team's page; after a refused change, `errors` {field: message} beside the fields
    and `values` {field: what was typed}."""
    context = {"team": team, "errors": errors or {}, "values": values or {}}
    if request.st2_is_admin:
        context.update(_choices(request, team))
    if context.get("choices_error"):  # a search the API refused (htmx gets it in a 200)
        status = 400
    return render(request, "portal/teams/detail.html", context, status=status)


def _choices(request, team):
    """One page of packs and actions matching ?q= (and ?kind=), marked when already granted."""
    query = request.GET.get("q", "").strip()
    kind = request.GET.get("kind", "")
    kind = kind if kind in KINDS else ""
    page = page_number(request.GET)
    granted = {(kind, ref) for kind in KINDS for ref in team.get(GRANTS[kind], [])}
    try:
        found, total = request.st2.list_grantables(query, kind, **window(page, CHOICES_PAGE))
        error = None
    except ApiError as refused:
        found, total, error = [], 0, _refused(refused, {"q", "kind"})[1]
    for choice in found:
        choice["granted"] = (choice["kind"], choice["ref"]) in granted
    return {
        "team": team,
        "q": query,
        "kind": kind,
        "choices": found,
        "choices_error": error,
        **pager(total, page, {"q": query, "kind": kind}, size=CHOICES_PAGE),
    }


def _change(request, team_id, fields, change):
    """Run `change(team)` for an admin, then back to the team's page; a refusal naming one
    of `fields` re-renders the page with it beside that field and the input kept (400)."""
    _require_admin(request)
    team = request.st2.get_team(team_id)
    try:
        message = change(team)
    except (ApiError, BadChoice) as refused:
        field, error = (
            (refused.field, refused.message)
            if isinstance(refused, BadChoice)
            else _refused(refused, set(fields))
        )
        errors = {field or fields[0]: error}
        values = {name: request.POST.get(name, "") for name in fields}
        return _detail(request, team, errors, values, status=400)
    messages.success(request, message)
    return redirect("team", team_id=team["id"])


@teams_page
@require_POST
def team_rename(request, team_id):
    name = request.POST.get("name", "").strip()

    def rename(team):
        request.st2.update_team(team["id"], name)
        return f"Team {team['name']} renamed {name}."

    return _change(request, team_id, ["name"], rename)


@teams_page
@require_POST
def team_add_member(request, team_id):
    username = request.POST.get("username", "").strip()

    def add(team):
        request.st2.add_team_member(team["id"], username)
        return f"{username} added to {team['name']}; it applies from their next request on."

    return _change(request, team_id, ["username"], add)


@teams_page
@require_POST
def team_remove_member(request, team_id, username):
    def remove(team):
        request.st2.remove_team_member(team["id"], username)
        return f"{username} removed from {team['name']}; it applies from their next request on."

    return _change(request, team_id, ["username"], remove)


@teams_page
@require_POST
def team_grant(request, team_id):
    """Grant the packs, actions and launch templates ticked in the search results, and the refs
    typed (packs, pack.action refs, or template:ref; registered or not yet)."""
    chosen = request.POST.getlist("grant")
    typed = [ref for ref in REF_SEPARATORS.split(request.POST.get("refs", "")) if ref]
    chosen += [_typed(ref) for ref in typed]

    def grant(team):
        refs = _split(chosen, "refs")
        changes = {
            field: sorted(set(team.get(field, [])) | refs[field]) for field in GRANTS.values()
        }
        request.st2.update_team(team["id"], team["name"], **changes)
        return f"Granted to {team['name']}: {_listed(refs)}."

    return _change(request, team_id, ["refs"], grant)


@teams_page
@require_POST
def team_revoke(request, team_id):
    """Take back the grants ticked in the team's list."""

    def revoke(team):
        refs = _split(request.POST.getlist("revoke"), "revoke")
        changes = {
            field: [ref for ref in team.get(field, []) if ref not in refs[field]]
            for field in GRANTS.values()
        }
        request.st2.update_team(team["id"], team["name"], **changes)
        return f"Taken back from {team['name']}: {_listed(refs)}."

    return _change(request, team_id, ["revoke"], revoke)


def _typed(ref):
    """A typed ref as a choice: "template:<ref>" as it is, a dotted ref an action, else a pack."""
    if ref.startswith("template:"):
        return ref
    return f"action:{ref}" if "." in ref else f"pack:{ref}"


def _listed(refs):
    return ", ".join(sorted(ref for chosen in refs.values() for ref in chosen))


def _split(values, field):
    """{team field: {refs}} of "pack:<ref>", "action:<ref>" and "template:<ref>" values; an
    empty selection or another value is refused beside `field`."""
    if not values:
        raise BadChoice(field, "Choose at least one pack, action or template.")
    refs = {name: set() for name in GRANTS.values()}
    for value in values:
        kind, _, ref = value.partition(":")
        if kind not in GRANTS or not ref:
            raise BadChoice(field, f'"{value}" is neither a pack, an action nor a template.')
        refs[GRANTS[kind]].add(ref)
    return refs


@teams_page
def team_delete(request, team_id):
    """GET: confirm. POST: delete, then the list."""
    _require_admin(request)
    team = request.st2.get_team(team_id)
    if request.method == "POST":
        request.st2.delete_team(team["id"])
        messages.success(request, f"Team {team['name']} deleted; its members lost its grants.")
        return redirect("teams")
    return render(request, "portal/teams/confirm_delete.html", {"team": team})


# --- who may run what -----------------------------------------------------------------------


@teams_page
def user_access(request):
    """Admins: every user, or those who may run ?action=, or ?user=; members: themselves."""
    filters = {name: request.GET.get(name, "").strip() for name in ("user", "action")}
    page = page_number(request.GET)
    error = None
    try:
        users, total = request.st2.list_user_access(**window(page), **filters)
    except ApiError as refused:
        users, total, error = [], 0, _refused(refused, {"action", "user"})
    context = {
        "users": users,
        "filters": filters,
        "error_field": error and error[0],
        "error": error and error[1],
        **pager(total, page, filters),
    }
    return render(request, "portal/teams/access.html", context, status=400 if error else 200)
