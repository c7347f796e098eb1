"""Launch templates (issue 18): members see the templates their teams grant and run them from
a form of the exposed parameters only (fixed ones shown read-only where the template says);
staff create one from an action's page, edit it (each save a new version), export it as YAML,
import one, and delete it. Everything goes through the API's templates extension
(st2bridge/api/templates.py), which decides again: a forged post is refused there."""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from portal.access import st2_login_required
from portal.form_rows import ADD_ROW
from portal.forms import add_error, cleaned_parameters, error_summary
from portal.paging import page_number, pager, window
from portal.template_editor import TemplateForm, initial_of
from portal.views.catalog import run_form
from portal.views.executions import LIST_FIELDS
from portal.views.executions import _list_row as execution_row
from st2bridge.client import ApiError

RECENT_RUNS = 10
IMPORT_MAX_BYTES = 64 * 1024  # the API's bound (st2bridge.launch_templates.MAX_YAML_BYTES)
NOT_PARAMETERS = {"csrfmiddlewaretoken", ADD_ROW, "rerun_of"}


def templates_page(view):
    """Signed in, on a server with the templates extension (a 404 page elsewhere)."""

    @st2_login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.st2_extensions.get("templates"):
            raise Http404("This StackStorm server has no launch templates.")
        return view(request, *args, **kwargs)

    return wrapper


def _require_admin(request):
    if not request.st2_is_admin:
        raise PermissionDenied("Only administrators change launch templates.")


def _refused(error):
    """The faultstring of a refusal to show on a form; anything else is raised again."""
    if error.status not in (400, 403, 409, 413):
        raise error
    return error.faultstring


# --- the list -------------------------------------------------------------------------------


@templates_page
def template_list(request):
    page = page_number(request.GET)
    templates, total = request.st2.list_templates(**window(page))
    return render(
        request, "portal/templates/list.html", {"templates": templates, **pager(total, page)}
    )


# --- one template: its form, and running it -------------------------------------------------


@templates_page
def template_detail(request, ref):
    """GET: the template and its form (?rerun=<execution id> pre-fills it with that run's
    exposed values, secrets blank). POST: run it (or re-run, through the template), then
    follow; or, for the no-JavaScript "Add a row" button, the same form one row longer."""
    template = request.st2.get_template(ref)
    schema = template["parameters_schema"]
    form, rerun, launched = run_form(
        request,
        schema,
        launch=lambda form, rerun: _run(request, ref, form, schema, rerun),
        prefill=lambda rerun: _prefill(request, schema, rerun),
    )
    if launched is not None:
        return launched
    runs, total = request.st2.list_executions(
        template=ref, user=request.st2_user, limit=RECENT_RUNS, include_attributes=LIST_FIELDS
    )
    context = {
        "template": template,
        "form": form,
        "rerun_of": rerun,
        "error_summary": error_summary(form),
        "hidden": [
            name
            for name, entry in template["parameters"].items()
            if entry["mode"] == "fixed" and not entry.get("shown")
        ],
        "runs": [execution_row(execution) for execution in runs],
        "runs_total": total,
        "versions": request.st2.template_versions(ref) if request.st2_is_admin else [],
    }
    status = 400 if form.is_bound and not form.quiet else 200
    return render(request, "portal/templates/detail.html", context, status=status)


def _prefill(request, schema, rerun):
    """The exposed values of the execution run again (secrets never); none for a new run."""
    if not rerun:
        return {}
    original = request.st2.get_execution(rerun).get("parameters") or {}
    return {
        name: value
        for name, value in original.items()
        if name in schema and not schema[name].get("secret")
    }


def _run(request, ref, form, schema, rerun):
    """The new execution, or None with the refusal beside its field. A re-run goes through
    the API's re_run, which runs the template again as it is now. What was posted for no
    field of the form (a hidden fixed parameter, a read-only one: browsers never send
    disabled fields) is a tampered post: it goes to the API as given, which refuses it,
    naming it, so the same boundary decides for the portal as for any client."""
    values = cleaned_parameters(form, schema, rerun=bool(rerun))
    extra = _not_in_form(form, request.POST)
    if values is None:
        return None
    try:
        if rerun:
            return request.st2.re_run(rerun, {**values, **extra})
        return request.st2.run_template(ref, {**values, **extra})
    except ApiError as error:
        add_error(form, _refused(error))
        return None


def _not_in_form(form, posted):
    """{name: value} of what was posted for no enabled field of `form` (rows fields post
    `<name>-<n>` and `<name>-<n>-<key>`)."""
    enabled = {form.add_prefix(name) for name, field in form.fields.items() if not field.disabled}
    return {
        key: posted.get(key)
        for key in posted
        if key not in NOT_PARAMETERS and key.split("-", 1)[0] not in enabled
    }


# --- staff: create, edit, export, import, delete --------------------------------------------


@templates_page
def template_create(request):
    """From an action's page (?action=ref): the editor, empty but for the action's name."""
    _require_admin(request)
    action_ref = request.GET.get("action") or request.POST.get("action") or ""
    if not action_ref:
        raise Http404("Make a template from an action's page.")
    action = request.st2.get_action(action_ref)
    merged = request.st2.action_parameters(action_ref)
    initial = {"ref": "", "name": action["ref"], "description": action.get("description", "")}
    form = TemplateForm(merged, data=request.POST or None, initial=initial)
    if request.method == "POST":
        template = _save(form, action_ref, request.st2.create_template)
        if template is not None:
            messages.success(request, f"Template {template['ref']} created (version 1).")
            return redirect("template", ref=template["ref"])
    return _editor(request, form, action, None)


@templates_page
def template_edit(request, ref):
    _require_admin(request)
    template = request.st2.get_template(ref)
    action = request.st2.get_action(template["action"])
    merged = request.st2.action_parameters(template["action"])
    form = TemplateForm(
        merged, data=request.POST or None, initial=initial_of(template), editing=True
    )
    if request.method == "POST":
        saved = _save(form, template["action"], lambda body: request.st2.update_template(ref, body))
        if saved is not None:
            messages.success(request, f"Template {ref} saved as version {saved['version']}.")
            return redirect("template", ref=ref)
    return _editor(request, form, action, template)


def _save(form, action_ref, save):
    body = form.body(action_ref)
    if body is None:
        return None
    try:
        return save(body)
    except ApiError as error:
        form.add_api_error(_refused(error))
        return None


def _editor(request, form, action, template):
    context = {"form": form, "action": action, "template": template}
    context["error_summary"] = error_summary(form)
    status = 400 if form.is_bound else 200
    return render(request, "portal/templates/edit.html", context, status=status)


@templates_page
def template_export(request, ref):
    _require_admin(request)
    text = request.st2.export_template(ref)
    response = HttpResponse(text, content_type="application/x-yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{ref}.yaml"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@templates_page
def template_import(request):
    """GET: the form. POST: a YAML document pasted or uploaded (a file wins), created or
    saved as a new version of the template of its ref."""
    _require_admin(request)
    document, error = request.POST.get("document", ""), None
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is not None:
            raw = upload.read(IMPORT_MAX_BYTES + 1)
            document = raw.decode("utf-8", "replace")
        try:
            template = request.st2.import_template(document)
        except ApiError as refused:
            error = _refused(refused)
        else:
            messages.success(
                request, f"Imported {template['ref']} (version {template['version']})."
            )
            return redirect("template", ref=template["ref"])
    context = {"document": document, "error": error}
    return render(request, "portal/templates/import.html", context, status=400 if error else 200)


@templates_page
def template_delete(request, ref):
    """GET: confirm. POST: delete (its versions stay, for the executions that ran them)."""
    _require_admin(request)
    template = request.st2.get_template(ref)
    if request.method == "POST":
        request.st2.delete_template(ref)
        messages.success(request, f"Template {ref} deleted.")
        return redirect("templates")
    return render(request, "portal/templates/confirm_delete.html", {"template": template})
