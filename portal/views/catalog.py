"""The catalog: packs with their actions, action search, and an action's page with its form."""

from django.shortcuts import redirect, render

from portal.access import st2_login_required
from portal.catalog import packs_with_actions, parameter_rows, search_actions
from portal.forms import add_error, build_form, cleaned_parameters
from st2bridge.client import St2Error

RECENT_EXECUTIONS = 10
EXECUTION_FIELDS = "id,status,start_timestamp,end_timestamp,elapsed_seconds"


@st2_login_required
def pack_list(request):
    packs = packs_with_actions(request.st2.list_packs(), request.st2.list_actions())
    return render(request, "portal/catalog/packs.html", {"packs": packs})


@st2_login_required
def action_list(request):
    query = request.GET.get("q", "").strip()
    actions = search_actions(request.st2.list_actions(), query)
    return render(request, "portal/catalog/actions.html", {"actions": actions, "q": query})


@st2_login_required
def action_detail(request, ref):
    """GET: the action and its form (?name=value pre-fills). POST: launch, then follow it."""
    action = request.st2.get_action(ref)
    merged = request.st2.action_parameters(ref)
    if request.method == "POST":
        form = build_form(merged, data=request.POST)
        values = cleaned_parameters(form, merged)
        if values is not None:
            try:
                execution = request.st2.launch(ref, values)
            except St2Error as error:
                if error.status != 400:
                    raise
                add_error(form, error.faultstring)
            else:
                return redirect("execution", execution_id=execution["id"])
    else:
        form = build_form(merged, initial=request.GET.dict())
    executions, total = request.st2.list_executions(
        action=ref,
        user=request.st2_user,
        limit=RECENT_EXECUTIONS,
        include_attributes=EXECUTION_FIELDS,
    )
    context = {
        "action": action,
        "form": form,
        "parameters": parameter_rows(merged),
        "executions": executions,
        "executions_total": total,
    }
    status = 400 if form.is_bound else 200
    return render(request, "portal/catalog/action.html", context, status=status)
