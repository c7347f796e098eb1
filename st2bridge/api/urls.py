"""Routes of the embedded StackStorm-compatible API: each resource module lists its own.
Anything unknown under the API prefixes is a JSON 404, as StackStorm's router answers."""

from django.urls import re_path

from . import (
    actions,
    aliases,
    apikeys,
    audit,
    configs,
    executions,
    inquiries,
    keys,
    openapi,
    pack_management,
    packs,
    policies,
    rbac,
    rules,
    ruletypes,
    runnertypes,
    sensors,
    service_registry,
    sso,
    stream,
    teams,
    templates,
    tokens,
    triggers,
    user,
    webhooks,
)
from .errors import api_not_found

urlpatterns = [
    *tokens.urlpatterns,
    *user.urlpatterns,
    *apikeys.urlpatterns,
    *pack_management.urlpatterns,  # before packs': /packs/install is no pack ref
    *packs.urlpatterns,
    *configs.urlpatterns,
    *actions.urlpatterns,
    *runnertypes.urlpatterns,
    *keys.urlpatterns,
    *executions.urlpatterns,
    *stream.urlpatterns,
    *rules.urlpatterns,
    *sensors.urlpatterns,
    *triggers.urlpatterns,
    *webhooks.urlpatterns,
    *teams.urlpatterns,
    *audit.urlpatterns,
    *templates.urlpatterns,
    *aliases.urlpatterns,
    *policies.urlpatterns,
    *rbac.urlpatterns,
    *ruletypes.urlpatterns,
    *inquiries.urlpatterns,
    *service_registry.urlpatterns,
    *sso.urlpatterns,
    *openapi.urlpatterns,
    re_path(r"^(api|auth|stream)(/[\s\S]*)?$", api_not_found),
]
