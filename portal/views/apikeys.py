"""API keys: each user's page (create with metadata, the key shown once; disable, enable,
delete) and the administrators' page of everyone's keys, filterable by user and metadata."""

from datetime import UTC

from django import forms
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from portal.access import safe_next, st2_login_required
from portal.form_style import StyledForm
from portal.paging import page_number, pager, window
from st2bridge.client import ApiError

BLANK_METADATA_ROWS = 3  # extra key/value rows offered without JavaScript
SESSION_NEW_KEY = "new_api_key"  # a key just created, until the page shows it once


class ApiKeyForm(StyledForm):
    name = forms.CharField(
        max_length=200, help_text="What the key is for, for example ci or backup-script."
    )
    expires_at = forms.DateTimeField(
        required=False,
        label="Expires (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Leave blank for a key that does not expire.",
    )

    def __init__(self, *args, expiry=True, **kwargs):
        """Without `expiry` (a server that cannot expire keys), no expiry field."""
        super().__init__(*args, **kwargs)
        if not expiry:
            del self.fields["expires_at"]

    def clean_expires_at(self):
        moment = self.cleaned_data["expires_at"]
        if moment is None:
            return None
        moment = moment.replace(tzinfo=UTC) if timezone.is_naive(moment) else moment
        if moment <= timezone.now():
            raise forms.ValidationError("Pick a moment in the future.")
        return moment


def metadata_rows(data):
    """The extra metadata rows as typed: [(key, value)], blanks dropped."""
    pairs = zip(data.getlist("meta_key"), data.getlist("meta_value"), strict=False)
    return [(key.strip(), value) for key, value in pairs if key.strip() or value.strip()]


def metadata_errors(rows):
    errors = []
    seen = {"name"}
    for key, _value in rows:
        if not key:
            errors.append("Every metadata value needs a key.")
        elif key in seen:
            errors.append(f'The metadata key "{key}" is given twice (name is set above).')
        seen.add(key)
    return errors


def _own_keys(request, page):
    keys, total = request.st2.list_api_keys(user=request.st2_user, **window(page))
    return keys, pager(total, page)


@st2_login_required
def apikey_list(request):
    """GET: the user's keys and the create form, and a key just created, once. POST: create,
    then redirect (Post/Redirect/Get: reloading the page creates nothing)."""
    expiry = bool(request.st2_extensions.get("apikey_expiry"))
    form, rows = ApiKeyForm(expiry=expiry), []
    if request.method == "POST":
        form, rows = ApiKeyForm(request.POST, expiry=expiry), metadata_rows(request.POST)
        created = _create(request, form, rows)
        if created is not None:
            _keep_for_one_view(request, created)
            return redirect(reverse("apikeys") + "#new-key")
    keys, pages = _own_keys(request, page_number(request.GET))
    context = {
        "form": form,
        "metadata_rows": rows + [("", "")] * BLANK_METADATA_ROWS,
        "metadata_errors": getattr(form, "metadata_errors", []),
        "new_key": request.session.pop(SESSION_NEW_KEY, None),
        "expiry_available": expiry,
        "keys": keys,
        **pages,
    }
    status = 400 if request.method == "POST" else 200
    response = render(request, "portal/apikeys/list.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _keep_for_one_view(request, created):
    """The new key crosses the redirect in the server-side session, which already holds the
    user's StackStorm token (as powerful as the key), and leaves it on the next view of the
    page: never in a URL or a cookie, shown once."""
    request.session[SESSION_NEW_KEY] = {
        "id": created["id"],
        "key": created["key"],
        "name": (created.get("metadata") or {}).get("name", ""),
    }


def _create(request, form, rows):
    """The new key's dict, or None with the errors on the form."""
    form.metadata_errors = metadata_errors(rows)
    if not form.is_valid() or form.metadata_errors:
        return None
    metadata = {"name": form.cleaned_data["name"], **dict(rows)}
    expires = form.cleaned_data.get("expires_at")
    try:
        return request.st2.create_api_key(
            metadata, expires.isoformat().replace("+00:00", "Z") if expires else None
        )
    except ApiError as error:
        if error.status != 400:
            raise
        field = "expires_at" if error.faultstring.startswith("expires_at") else None
        form.add_error(field, error.faultstring)
        return None


def _back(request, default="apikeys"):
    return redirect(safe_next(request, request.POST.get("next")) or default)


@st2_login_required
@require_POST
def apikey_enable(request, key_id):
    request.st2.update_api_key(key_id, enabled=True)
    return _back(request)


@st2_login_required
@require_POST
def apikey_disable(request, key_id):
    request.st2.update_api_key(key_id, enabled=False)
    return _back(request)


@st2_login_required
def apikey_delete(request, key_id):
    """GET: confirm. POST: delete, then back where the user came from."""
    if request.method == "POST":
        request.st2.delete_api_key(key_id)
        return _back(request)
    key = request.st2.get_api_key(key_id)
    back = safe_next(request, request.GET.get("next")) or "/apikeys"
    return render(request, "portal/apikeys/confirm_delete.html", {"key": key, "next": back})


@st2_login_required
def manage_apikeys(request):
    """Administrators: everyone's keys, filtered by user and metadata (name:value)."""
    if not request.st2_is_admin:
        raise PermissionDenied("Only administrators see every user's keys.")
    filters = {name: request.GET.get(name, "").strip() for name in ("user", "metadata")}
    # A StackStorm server ignores ?metadata=: the filter would silently show every key.
    metadata_available = bool(request.st2_extensions.get("apikey_metadata_filter"))
    asked = filters if metadata_available else {**filters, "metadata": ""}
    page = page_number(request.GET)
    error = None
    try:
        keys, total = request.st2.list_api_keys(**window(page), **asked)
    except ApiError as refused:
        if refused.status != 400:
            raise
        keys, total, error = [], 0, refused.faultstring
    context = {
        "keys": keys,
        "filters": asked,
        "metadata_available": metadata_available,
        "error": error,
        **pager(total, page, asked),
    }
    return render(request, "portal/apikeys/manage.html", context, status=400 if error else 200)
