"""/api/v1/templates: launch templates (issue 18), an extension of StackStorm's API (listed in
/api/v1/extensions as "templates"; st2bridge/launch_templates.py does the work). Admins
create and change them; members see and run the templates their teams grant.

    GET    /api/v1/templates                      templates (?action=), paged
    POST   /api/v1/templates                      {ref, name, description?, action, parameters}
    POST   /api/v1/templates/import               a YAML document (creates, or a new version)
    GET    /api/v1/templates/{ref_or_id}
    PUT    /api/v1/templates/{ref_or_id}          a new version
    DELETE /api/v1/templates/{ref_or_id}          its versions stay
    POST   /api/v1/templates/{ref_or_id}/run      {parameters: the exposed ones}
    GET    /api/v1/templates/{ref_or_id}/export   the YAML document (admins)
    GET    /api/v1/templates/{ref}/versions       every version (admins)
    GET    /api/v1/templates/{ref}/versions/{n}
"""

from django.http import HttpResponse
from rest_framework.response import Response

from st2bridge import launch_templates
from st2bridge.executions import to_api as execution_to_api
from st2bridge.launch_templates import templates_to_api, version_to_api
from st2bridge.shapes import LAUNCH_TEMPLATE

from .base import ApiView, attribute_selector, json_body, paginate, query_filters, route

FILTERS = {"action": "action"}
YAML_TYPE = "application/x-yaml; charset=utf-8"


def shown(caller, template):
    return templates_to_api([template], caller.is_admin)[0]


class TemplateList(ApiView):
    def get(self, request):
        select = attribute_selector(request, LAUNCH_TEMPLATE)
        templates = launch_templates.visible_templates(
            self.caller, **query_filters(request, FILTERS)
        )
        page, headers = paginate(request, templates, self.caller, default_limit=50)
        answers = templates_to_api(page, self.caller.is_admin)
        return Response([select(answer) for answer in answers], headers=headers)

    def post(self, request):
        template = launch_templates.create(self.caller, json_body(request))
        return Response(shown(self.caller, template), status=201)


class TemplateImport(ApiView):
    """The body is the YAML document itself (any content type: YAML has none registered)."""

    def post(self, request):
        template, created = launch_templates.import_yaml(self.caller, request.body)
        return Response(shown(self.caller, template), status=201 if created else 200)


class TemplateDetail(ApiView):
    def get(self, request, ref_or_id):
        return Response(shown(self.caller, launch_templates.find(self.caller, ref_or_id)))

    def put(self, request, ref_or_id):
        template = launch_templates.update(self.caller, ref_or_id, json_body(request))
        return Response(shown(self.caller, template))

    def delete(self, request, ref_or_id):
        launch_templates.delete(self.caller, ref_or_id)
        return Response(status=204)


class TemplateRun(ApiView):
    def post(self, request, ref_or_id):
        execution = launch_templates.run(self.caller, ref_or_id, json_body(request))
        return Response(execution_to_api(execution), status=201)


class TemplateExport(ApiView):
    def get(self, request, ref_or_id):
        text = launch_templates.export_yaml(self.caller, ref_or_id)
        response = HttpResponse(text, content_type=YAML_TYPE)
        name = ref_or_id.replace('"', "")
        response["Content-Disposition"] = f'attachment; filename="{name}.yaml"'
        return response


class TemplateVersions(ApiView):
    def get(self, request, ref):
        found = launch_templates.versions(self.caller, ref)
        page, headers = paginate(request, found, self.caller, default_limit=50)
        return Response([version_to_api(version) for version in page], headers=headers)


class TemplateVersion(ApiView):
    def get(self, request, ref, number):
        return Response(version_to_api(launch_templates.find_version(self.caller, ref, number)))


TEMPLATE = r"(?P<ref_or_id>[^/]+)"

urlpatterns = [
    route(r"api/v1/templates", TemplateList),
    route(r"api/v1/templates/import", TemplateImport),
    route(rf"api/v1/templates/{TEMPLATE}", TemplateDetail),
    route(rf"api/v1/templates/{TEMPLATE}/run", TemplateRun),
    route(rf"api/v1/templates/{TEMPLATE}/export", TemplateExport),
    route(r"api/v1/templates/(?P<ref>[^/]+)/versions", TemplateVersions),
    route(r"api/v1/templates/(?P<ref>[^/]+)/versions/(?P<number>[0-9]{1,9})", TemplateVersion),
]
