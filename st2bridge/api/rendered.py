"""Lists rendered from rows the database returns as they are stored (issue 16): each object's
JSON bytes are built once per content of its row and kept per process, so a list of 5,000
actions decodes, builds and encodes only the rows that changed since the last one. The
database is still read on every request, and a changed row has another content, so another
key: the key is the row's id and Python's hash of the whole row, 64 bits keyed with a random
secret per process (unless PYTHONHASHSEED fixes it), so that a changed row is served as it
was with a chance of about one in 10^19, which no one can raise on purpose. (A cryptographic
digest of each row, or the row itself as the key, costs two to three times as much per row,
or the memory of every row.)
The bytes are those DRF's JSONRenderer makes of the object, and a list is those of its items
joined, exactly what rendering the whole list gives."""

import threading
from collections import OrderedDict

from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer

RENDERER = JSONRenderer()


class RenderedRows:
    """At most `size` rendered objects, the least recently used dropped first; safe to share
    between threads (two threads may build the same object at once: both get the same)."""

    def __init__(self, size):
        self.size = size
        self._items = OrderedDict()
        self._lock = threading.Lock()

    def get(self, parts, build):
        """The bytes of `build()`, kept under the content `parts`: a tuple of the row's id
        first, its other values, and anything else the object depends on."""
        key = (parts[0], hash(parts))
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        rendered = RENDERER.render(build())
        with self._lock:
            self._items[key] = rendered
            if len(self._items) > self.size:
                self._items.popitem(last=False)
        return rendered


def json_list(items, headers):
    """The response of a JSON array of already rendered items, as DRF would send it."""
    body = b"[" + b",".join(items) + b"]"
    return HttpResponse(body, content_type=RENDERER.media_type, headers=headers)
