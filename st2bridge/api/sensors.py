"""/api/v1/sensortypes (notes §9): list and get (the sensor types of the packs the caller
sees, st2bridge.access), and PUT, which only switches `enabled` (admins)."""

from rest_framework.response import Response

from st2bridge import access, sensors
from st2bridge.shapes import SENSOR_TYPE

from .base import ApiView, json_body, list_response, query_bool, query_filters, route

FILTERS = {"name": "name", "pack": "pack"}


class SensorTypeList(ApiView):
    def get(self, request):
        sensor_types = access.visible_sensor_types(self.caller).filter(
            **query_filters(request, FILTERS)
        )
        if request.query_params.get("enabled") not in (None, ""):
            sensor_types = sensor_types.filter(enabled=query_bool(request, "enabled"))
        trigger = request.query_params.get("trigger")
        if trigger:  # a trigger type ref the sensor declares (a JSON list: filtered here)
            ids = [
                pk
                for pk, refs in sensor_types.values_list("id", "trigger_types")
                if trigger in (refs or [])
            ]
            sensor_types = sensor_types.filter(pk__in=ids)
        return list_response(request, sensor_types, self.caller, sensors.to_api, SENSOR_TYPE)


class SensorTypeDetail(ApiView):
    def get(self, request, ref_or_id):
        return Response(sensors.to_api(access.find_sensor_type(self.caller, ref_or_id)))

    def put(self, request, ref_or_id):
        sensor_type = access.find_sensor_type(self.caller, ref_or_id)
        sensor_type = sensors.set_enabled(self.caller, sensor_type, json_body(request))
        return Response(sensors.to_api(sensor_type))


urlpatterns = [
    route(r"api/v1/sensortypes", SensorTypeList),
    route(r"api/v1/sensortypes/(?P<ref_or_id>[^/]+)", SensorTypeDetail),
]
