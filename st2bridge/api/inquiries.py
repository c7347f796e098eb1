"""/api/v1/inquiries and /api/v1/traces, as a StackStorm without workflows answers them.
Inquiries are executions waiting for an answer (st2bridge.inquiries): none here. Traces
(StackStorm's record of what caused what: trigger instances, rules, executions) are not kept
here; rule enforcements and an execution's `rule` and `trigger_instance` say the same. So
both lists are empty, and a named one is not found (or, for an execution, not an inquiry)."""

from rest_framework.response import Response

from st2bridge import inquiries
from st2bridge.bodies import check_body
from st2bridge.errors import NotFound

from .base import ApiView, json_body, paginate, route


class InquiryList(ApiView):
    def get(self, request):
        found = inquiries.visible_inquiries(self.caller)
        page, headers = paginate(request, found, self.caller, default_limit=20)
        return Response([inquiries.inquiry_to_api(item) for item in page], headers=headers)


class InquiryDetail(ApiView):
    def get(self, request, inquiry_id):
        inquiry = inquiries.find_inquiry(self.caller, inquiry_id)
        return Response(inquiries.inquiry_to_api(inquiry))

    def put(self, request, inquiry_id):
        body = check_body(json_body(request), inquiries.RESPONSE_SCHEMA)
        inquiry = inquiries.find_inquiry(self.caller, inquiry_id)
        return Response(inquiries.respond(self.caller, inquiry, body))


class TraceList(ApiView):
    def get(self, request):
        page, headers = paginate(request, [], self.caller, default_limit=100)
        return Response(page, headers=headers)


class TraceDetail(ApiView):
    def get(self, request, trace_id):
        raise NotFound(f'Unable to identify resource with id "{trace_id}".')


urlpatterns = [
    route(r"api/v1/inquiries", InquiryList),
    route(r"api/v1/inquiries/(?P<inquiry_id>[^/]+)", InquiryDetail),
    route(r"api/v1/traces", TraceList),
    route(r"api/v1/traces/(?P<trace_id>[^/]+)", TraceDetail),
]
