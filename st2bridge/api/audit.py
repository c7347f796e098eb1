"""/api/v1/audit: the audit log (st2bridge.audit), an extension of StackStorm's API listed in
/api/v1/extensions as "audit". Administrators only; read-only: nothing in the API changes or
deletes a record (POST, PUT, PATCH and DELETE are 405).

    GET /api/v1/audit    newest first, paged (limit, offset; X-Total-Count, X-Limit);
                         ?user= ?action= (rule.update, or rule for every rule.*) ?object_type=
                         ?object_id= ?timestamp_gt= ?timestamp_lt= ?before_id= (older records)
"""

from st2bridge import access, audit
from st2bridge.errors import MethodNotAllowed
from st2bridge.shapes import AUDIT_RECORD

from .base import ApiView, list_response, query_filters, query_int, route

READ_ONLY = "The audit log is read-only: records are never changed or deleted through the API."


class AuditList(ApiView):
    def initial(self, request, *args, **kwargs):
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            raise MethodNotAllowed(READ_ONLY)
        super().initial(request, *args, **kwargs)

    def get(self, request):
        records = audit.filtered(
            access.visible_audit_records(self.caller),
            action=request.query_params.get("action"),
            before_id=query_int(request, "before_id"),
            **query_filters(request, audit.FILTERS),
        )
        return list_response(
            request, records, self.caller, audit.to_api, AUDIT_RECORD, default_limit=50
        )


urlpatterns = [route(r"api/v1/audit", AuditList)]
