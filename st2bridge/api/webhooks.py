"""/api/v1/webhooks (notes §6.3): custom hooks fire the rules whose webhook trigger has that
url; /webhooks/st2 fires any trigger with a validated payload (st2bridge.webhooks). Both need
credentials, and any user may post to them (as in StackStorm): the poster is recorded in the
trigger instance, and the answer is their own body. Reading webhooks goes through
st2bridge.access (issue 12)."""

from rest_framework.response import Response

from st2bridge import webhooks
from st2bridge.access import visible_webhooks
from st2bridge.errors import NotFound
from st2bridge.triggers import trigger_to_api

from .base import ApiView, parse_body, route


class WebhookList(ApiView):
    def get(self, request):
        return Response([trigger_to_api(t) for t in visible_webhooks(self.caller)])


class Webhook(ApiView):
    def get(self, request, url):
        trigger = visible_webhooks(self.caller, webhooks.webhook_triggers(url)).first()
        if trigger is None:
            raise NotFound(f"Webhook {url} not registered with st2")
        return Response(trigger_to_api(trigger))

    def post(self, request, url):
        body = parse_body(request)
        webhooks.fire(self.caller, url, request.headers, body)
        return Response(body, status=202)


urlpatterns = [
    route(r"api/v1/webhooks", WebhookList),
    route(r"api/v1/webhooks/(?P<url>.+?)", Webhook),
]
