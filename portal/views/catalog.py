"""The catalog: packs with their action counts, actions paged and searched, and an action's
page with its form."""

import re

from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from portal.access import public_api_url, st2_login_required
from portal.catalog import (
    ActionPage,
    action_page,
    pack_page,
    parameter_rows,
    search_problem,
    with_problems,
)
from portal.form_rows import ADD_ROW
from portal.forms import add_error, build_form, cleaned_parameters, error_summary
from portal.paging import page_link, page_number, pager
from portal.preview import command_preview
from st2bridge.client import ApiError

RECENT_EXECUTIONS = 10
EXECUTION_ID = re.compile(r"[0-9a-f]{24}")  # StackStorm's ids (MongoDB ObjectIds)
EXECUTION_FIELDS = "id,status,start_timestamp,end_timestamp,elapsed_seconds"


@st2_login_required
def pack_list(request):
    """A page of packs, each with how many actions it has (linking to them); for admins,
    when the server keeps them, what pack registration could not take (a badge on the pack;
    problems of no registered pack above the list of the first page), and a link to the
    config of each pack that has a config schema."""
    page = page_number(request.GET)
    packs, total = pack_page(request.st2, request.st2_extensions, page)
    paging = pager(total, page)
    if page > paging["pages"]:
        return redirect(reverse("packs") + page_link({}, paging["pages"]))
    unplaced = []
    if request.st2_is_admin:
        configurable = request.st2.packs_with_config_schema(pack["ref"] for pack in packs)
        packs = [{**pack, "configurable": pack["ref"] in configurable} for pack in packs]
    if request.st2_is_admin and request.st2_extensions.get("pack_problems"):
        packs, unplaced = with_problems(packs, _pack_problems(request))
    context = {"packs": packs, "unplaced_problems": unplaced if page == 1 else [], **paging}
    return render(request, "portal/catalog/packs.html", context)


def _pack_problems(request):
    """The server's list, or none when it refuses it (an admin no longer, since sign-in)."""
    try:
        return request.st2.pack_problems()
    except ApiError as error:
        if error.status != 403:
            raise
        return []


@st2_login_required
def action_list(request):
    """A page of actions, of one pack (?pack=) or all, searched (?q=) by the server where it
    can; catalog.js refreshes the results as the user types."""
    query, pack = (request.GET.get(name, "").strip() for name in ("q", "pack"))
    page = page_number(request.GET)
    problem = search_problem(query, pack)
    found = ActionPage([], 0)
    if not problem:
        try:
            found = action_page(request.st2, request.st2_extensions, page, query, pack)
        except ApiError as error:
            if error.status != 400:
                raise
            problem = error.faultstring
    filters = {"q": query, "pack": pack}
    paging = pager(found.total, page, filters)
    if page > paging["pages"]:
        return redirect(reverse("actions") + page_link(filters, paging["pages"]))
    context = {"found": found, "q": query, "pack": pack, "problem": problem, **paging}
    return render(request, "portal/catalog/actions.html", context, status=400 if problem else 200)


@st2_login_required
def action_detail(request, ref):
    """GET: the action and its form (?name=value pre-fills; ?rerun=<execution id> pre-fills
    with that execution's parameters, secrets blank). POST: launch (or re-run), then follow;
    or, for the no-JavaScript "Add a row" button, the same form one row longer."""
    action = request.st2.get_action(ref)
    merged = request.st2.action_parameters(ref)
    form, rerun, launched = run_form(
        request,
        merged,
        launch=lambda form, rerun: _launch(request, ref, form, merged, rerun),
        prefill=lambda rerun: _prefill(request, merged, rerun),
    )
    if launched is not None:
        return launched
    executions, total = request.st2.list_executions(
        action=ref,
        user=request.st2_user,
        limit=RECENT_EXECUTIONS,
        include_attributes=EXECUTION_FIELDS,
    )
    context = {
        "action": action,
        "form": form,
        "rerun_of": rerun,
        "parameters": parameter_rows(merged),
        "preview": command_preview(form, merged, ref, public_api_url(request)),
        "error_summary": error_summary(form),
        "executions": executions,
        "executions_total": total,
    }
    status = 400 if form.is_bound and not form.quiet else 200
    return render(request, "portal/catalog/action.html", context, status=status)


@require_POST
@st2_login_required
def action_preview(request, ref):
    """The `st2 run` and curl equivalents of the form as posted (the action page refreshes
    them with htmx as the user types; its JavaScript masks secrets before posting)."""
    merged = request.st2.action_parameters(ref)
    form = build_form(merged, data=request.POST)
    preview = command_preview(form, merged, ref, public_api_url(request))
    return render(request, "portal/partials/_preview.html", {"preview": preview})


def _prefill(request, merged, rerun):
    """Initial values: those of the execution re-run (secrets never), else the query string."""
    if not rerun:
        return request.GET.dict()
    original = request.st2.get_execution(rerun).get("parameters") or {}
    return {
        name: value for name, value in original.items() if not merged.get(name, {}).get("secret")
    }


def run_form(request, schema, launch, prefill):
    """(form, rerun, launched) of a page that runs something (an action, a launch template):
    `rerun` the execution ?rerun= or the posted rerun_of names, if any; `launched` the
    redirect to the execution a POST started (launch(form, rerun): the execution or None),
    else None and the form to show: a POST's with its errors, or one row longer for the
    no-JavaScript "Add a row" button; a GET's pre-filled by prefill(rerun)."""
    rerun = request.POST.get("rerun_of") or request.GET.get("rerun") or ""
    if rerun and not EXECUTION_ID.fullmatch(rerun):
        raise Http404("No such execution to run again.")
    if request.method != "POST":
        return build_form(schema, initial=prefill(rerun), rerun=bool(rerun)), rerun, None
    form = build_form(schema, data=request.POST, rerun=bool(rerun))
    adding = form.add_row(request.POST.get(ADD_ROW, ""))
    execution = None if adding else launch(form, rerun)
    if execution is None:
        return form, rerun, None
    return form, rerun, redirect("execution", execution_id=execution["id"])


def _launch(request, ref, form, merged, rerun):
    """The new execution, or None with the refusal shown on the form. A re-run goes through
    the API's re_run, so secrets left blank are reused on the server and never sent here."""
    values = cleaned_parameters(form, merged, rerun=bool(rerun))
    if values is None:
        return None
    try:
        if rerun:
            return request.st2.re_run(rerun, values)
        return request.st2.launch(ref, values)
    except ApiError as error:
        if error.status not in (400, 403):  # 403: a runner parameter only staff may set
            raise
        add_error(form, error.faultstring)
        return None
