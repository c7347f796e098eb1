"""The catalog: packs with their actions, action search, and an action's page."""

from django.shortcuts import render

from portal.access import st2_login_required
from portal.catalog import packs_with_actions, parameter_rows, search_actions

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
    action = request.st2.get_action(ref)
    parameters = parameter_rows(request.st2.action_parameters(ref))
    executions, total = request.st2.list_executions(
        action=ref,
        user=request.st2_user,
        limit=RECENT_EXECUTIONS,
        include_attributes=EXECUTION_FIELDS,
    )
    context = {
        "action": action,
        "parameters": parameters,
        "executions": executions,
        "executions_total": total,
    }
    return render(request, "portal/catalog/action.html", context)
