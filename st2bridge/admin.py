"""The Django admin: teams (issue 5, item 7), and a throttled admin sign-in.

Teams are Django groups. The group page names the team, lists its members and grants packs
and actions (TeamAccess, inline); st2bridge.teams applies the grants in the API. The portal
manages teams itself through the API (/teams; st2bridge/team_admin.py), which checks refs
the same way; this page stays for those who prefer it. Every staff user manages teams, as
every staff user is an admin of the portal: no Django model permission is needed.

The admin signs in with the same username and password as the portal (its own Django session
login); failed attempts count towards the same throttle as the API's /auth/v1/tokens.
"""

import re

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db.models import Count

from . import audit, auth, team_admin
from .addresses import client_address
from .errors import InvalidInput, TooManyRequests
from .models import TeamAccess

# --- sign-in --------------------------------------------------------------------------------


class ThrottledAdminLoginForm(AdminAuthenticationForm):
    """The admin's login form under the API's login throttle (st2bridge.auth): refused while
    this username is throttled from this address, and counting its wrong passwords, so
    /admin/login/ is no way around the throttle. The browser reaches the admin directly: its
    address is the peer's, or X-Forwarded-For from PORTAL_TRUSTED_PROXIES."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request.META, settings.PORTAL_TRUSTED_PROXIES)
        try:
            auth.refuse_if_throttled(username, address)
        except TooManyRequests as error:
            wait = error.headers.get("Retry-After", "60")
            raise ValidationError(
                f"Too many failed attempts, try again in {wait} seconds.", code="throttled"
            ) from None
        try:
            cleaned = super().clean()
        except ValidationError:
            if self.user_cache is None:  # a wrong password, not a right one of a non-admin
                auth.record_login_failure(username, address)
            raise
        audit.record(audit.Actor(username, address, "session"), "auth.signin", "session", "admin")
        return cleaned


admin.site.login_form = ThrottledAdminLoginForm
admin.site.site_header = admin.site.site_title = "StackStorm portal administration"
admin.site.site_url = "/"


# --- teams ----------------------------------------------------------------------------------


class RefListField(forms.CharField):
    """A list of refs edited as text, one per line (commas and spaces also separate), checked
    as the API checks them (team_admin.check_refs): by their form only, so a ref not
    registered yet is granted too, as StackStorm's RBAC allows; the admin then says so."""

    widget = forms.Textarea(attrs={"rows": 4, "cols": 60})

    def __init__(self, field, **kwargs):
        super().__init__(required=False, **kwargs)
        self.field = field  # "packs" | "actions"

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        if isinstance(value, list):
            return value
        refs = [ref for ref in re.split(r"[\s,]+", value or "") if ref]
        try:
            return team_admin.check_refs(self.field, refs)
        except InvalidInput as error:
            raise ValidationError(error.message, code="invalid") from None


class TeamAccessForm(forms.ModelForm):
    packs = RefListField(
        "packs",
        help_text="Packs whose every action the team sees and runs, one per line (core, demo).",
    )
    actions = RefListField(
        "actions",
        help_text="Single actions the team sees and runs, one ref per line (demo.deploy).",
    )

    class Meta:
        model = TeamAccess
        fields = ["packs", "actions"]


def _staff(request):
    return request.user.is_active and request.user.is_staff


class StaffOnly:
    """Every staff user may manage teams (staff are the portal's admins)."""

    def has_module_permission(self, request):
        return _staff(request)

    def has_view_permission(self, request, obj=None):
        return _staff(request)

    def has_add_permission(self, request, *args):
        return _staff(request)

    def has_change_permission(self, request, obj=None):
        return _staff(request)

    def has_delete_permission(self, request, obj=None):
        return _staff(request)


class TeamAccessInline(StaffOnly, admin.StackedInline):
    model = TeamAccess
    form = TeamAccessForm
    can_delete = False
    max_num = 1
    verbose_name = verbose_name_plural = "What the team may see and run"


class TeamForm(forms.ModelForm):
    members = forms.ModelMultipleChoiceField(
        get_user_model().objects.order_by("username"),
        required=False,
        widget=FilteredSelectMultiple("members", is_stacked=False),
        help_text="Users of the team. Staff users see and run everything whatever their teams.",
    )

    class Meta:
        model = Group
        fields = ["name", "members"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["members"] = list(self.instance.user_set.values_list("pk", flat=True))


admin.site.unregister(Group)


@admin.register(Group)
class TeamAdmin(StaffOnly, admin.ModelAdmin):
    form = TeamForm
    inlines = [TeamAccessInline]
    search_fields = ["name"]
    ordering = ["name"]
    list_display = ["name", "member_count", "granted_packs", "granted_actions"]

    def get_fieldsets(self, request, obj=None):
        default = settings.ST2_DEFAULT_ACCESS
        description = (
            "A team (a Django group) sees and runs only the packs and actions granted below, "
            "in the portal and in the API alike (tokens and API keys). A member of several "
            "teams gets all their grants together. Staff users see and run everything. "
            f"Users in no team see and run {'everything' if default == 'all' else 'nothing'} "
            f"(ST2_DEFAULT_ACCESS={default}); with ST2_DEFAULT_ACCESS=all, adding a user to "
            "a team narrows what they see to that team's grants."
        )
        return [(None, {"fields": ["name", "members"], "description": description})]

    def get_queryset(self, request):
        groups = super().get_queryset(request).select_related("access")
        return groups.annotate(member_count=Count("user"))

    @admin.display(description="members", ordering="member_count")
    def member_count(self, group):
        return group.member_count

    @admin.display(description="packs")
    def granted_packs(self, group):
        return ", ".join(_access(group).packs or []) or "-"

    @admin.display(description="actions")
    def granted_actions(self, group):
        return ", ".join(_access(group).actions or []) or "-"

    def save_model(self, request, obj, form, change):
        form.audit_before = team_admin.view_of(obj) if change else None  # as it was
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        form.instance.user_set.set(form.cleaned_data["members"])
        team = team_admin.view_of(form.instance)
        verb = "update" if change else "create"
        team_admin.audited(_actor(request), verb, form.audit_before, team)
        # As through the API: core.st2.team.grant_changed for each grant added or removed.
        team_admin.grants_changed(request.user.username, form.audit_before, team)
        if team.unregistered:
            self.message_user(
                request,
                f"Not registered (yet): {', '.join(team.unregistered)}. The team is granted "
                "them all the same; check the spelling.",
                messages.WARNING,
            )

    def delete_model(self, request, obj):
        self.delete_queryset(request, Group.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        team_admin.delete_groups(_actor(request), queryset)


def _actor(request):
    """Who changes teams in the Django admin, for the audit log: a signed-in session (no
    token or API key), from the address the throttle reads too."""
    address = client_address(request.META, settings.PORTAL_TRUSTED_PROXIES)
    return audit.Actor(request.user.get_username(), address, "session")


def _access(group):
    try:
        return group.access
    except TeamAccess.DoesNotExist:
        return TeamAccess()
