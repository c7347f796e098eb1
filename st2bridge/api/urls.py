"""Routes of the embedded StackStorm-compatible API: each resource module lists its own.
Anything unknown under the API prefixes is a JSON 404, as StackStorm's router answers."""

from django.urls import re_path

from . import (
    actions,
    apikeys,
    configs,
    executions,
    keys,
    openapi,
    packs,
    rules,
    runnertypes,
    sensors,
    stream,
    teams,
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
    *openapi.urlpatterns,
    re_path(r"^(api|auth|stream)(/[\s\S]*)?$", api_not_found),
]
