"""The API's JSON renderer: the bytes DRF's JSONRenderer gives (compact, UTF-8, U+2028 and
U+2029 escaped), encoded by orjson, which is several times faster on the lists of 50
(bench/api.py). Anything orjson does not encode as DRF would is handed to DRF's own encoder:
datetimes, decimals, lazy strings and other objects through `default`; integers beyond 64 bits
(a JSON body may carry them) and non-string keys by rendering the whole response with DRF's
renderer."""

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_ENCODER = JSONEncoder()
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class ApiJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        try:
            rendered = orjson.dumps(data, default=_ENCODER.default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        # As DRF does: the two line separators JavaScript treats as line ends, escaped.
        if b"\xe2\x80\xa8" in rendered or b"\xe2\x80\xa9" in rendered:
            rendered = rendered.replace(b"\xe2\x80\xa8", b"\\u2028")
            rendered = rendered.replace(b"\xe2\x80\xa9", b"\\u2029")
        return rendered
