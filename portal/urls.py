from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from portal.views import (
    apikeys,
    audit,
    auth,
    catalog,
    configs,
    executions,
    home,
    rules,
    teams,
    templates,
)

urlpatterns = [
    path("", include("st2bridge.api.urls")),
    path("manage/apikeys", apikeys.manage_apikeys, name="manage_apikeys"),
    path("admin/", admin.site.urls),
    # Pages link the SVG icon; browsers still ask for /favicon.ico where no page says (JSON, files).
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("", home.index, name="home"),
    path("login", auth.login, name="login"),
    path("logout", auth.logout, name="logout"),
    path("packs", catalog.pack_list, name="packs"),
    path("packs/<str:ref>/config", configs.pack_config, name="pack_config"),
    path("actions", catalog.action_list, name="actions"),
    path("actions/<str:ref>", catalog.action_detail, name="action"),
    path("actions/<str:ref>/preview", catalog.action_preview, name="action_preview"),
    path("apikeys", apikeys.apikey_list, name="apikeys"),
    path("apikeys/<str:key_id>/enable", apikeys.apikey_enable, name="apikey_enable"),
    path("apikeys/<str:key_id>/disable", apikeys.apikey_disable, name="apikey_disable"),
    path("apikeys/<str:key_id>/delete", apikeys.apikey_delete, name="apikey_delete"),
    path("rules", rules.rule_list, name="rules"),
    path("rules/new", rules.rule_create, name="rule_create"),
    path("rules/<str:ref>", rules.rule_detail, name="rule"),
    path("rules/<str:ref>/edit", rules.rule_edit, name="rule_edit"),
    path("rules/<str:ref>/toggle", rules.rule_toggle, name="rule_toggle"),
    path("rules/<str:ref>/delete", rules.rule_delete, name="rule_delete"),
    path("teams", teams.team_list, name="teams"),
    path("teams/access", teams.user_access, name="user_access"),
    path("teams/<int:team_id>", teams.team_detail, name="team"),
    path("teams/<int:team_id>/rename", teams.team_rename, name="team_rename"),
    path("teams/<int:team_id>/members", teams.team_add_member, name="team_add_member"),
    path(
        "teams/<int:team_id>/members/<str:username>/remove",
        teams.team_remove_member,
        name="team_remove_member",
    ),
    path("teams/<int:team_id>/grant", teams.team_grant, name="team_grant"),
    path("teams/<int:team_id>/revoke", teams.team_revoke, name="team_revoke"),
    path("teams/<int:team_id>/delete", teams.team_delete, name="team_delete"),
    path("audit", audit.audit_list, name="audit"),
    path("audit/export.<str:kind>", audit.audit_export, name="audit_export"),
    path("templates", templates.template_list, name="templates"),
    path("templates/new", templates.template_create, name="template_create"),
    path("templates/import", templates.template_import, name="template_import"),
    path("templates/<str:ref>", templates.template_detail, name="template"),
    path("templates/<str:ref>/edit", templates.template_edit, name="template_edit"),
    path("templates/<str:ref>/export", templates.template_export, name="template_export"),
    path("templates/<str:ref>/delete", templates.template_delete, name="template_delete"),
    path("executions", executions.execution_list, name="executions"),
    path("executions/<str:execution_id>", executions.execution_detail, name="execution"),
    path(
        "executions/<str:execution_id>/cancel", executions.execution_cancel, name="execution_cancel"
    ),
    path(
        "executions/<str:execution_id>/output.txt",
        executions.execution_output,
        name="execution_output",
    ),
    path(
        "executions/<str:execution_id>/status",
        executions.execution_status,
        name="execution_status",
    ),
]

# JSON faultstrings under /api, /auth and /stream; the portal's own pages elsewhere.
handler403 = "st2bridge.api.errors.permission_denied"
handler404 = "st2bridge.api.errors.page_not_found"
handler500 = "st2bridge.api.errors.server_error"
