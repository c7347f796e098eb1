"""Lists rendered from rows the database returns as they are stored (issue 16): each object's
JSON bytes are built once per content of its row and kept per process, so a list of 5,000
actions decodes, builds and encodes only the rows that changed since the last one. The
database is still read on every request; a changed row has another content, so another key,
and is never served stale. The bytes are those DRF's JSONRenderer makes of the object, and a
list is those of its items joined, exactly what rendering the whole list gives."""

import hashlib
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
        """The bytes of `build()`, kept under the content `parts` (a tuple of the row's
        values and of anything else the object depends on)."""
        key = content_key(parts)
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

    def clear(self):
        with self._lock:
            self._items.clear()


def content_key(parts):
    """A 128-bit digest of `parts`, a tuple of strings, numbers, booleans, None and tuples
    of those, whose repr() is faithful: two different tuples never read the same."""
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).digest()


def json_list(items, headers):
    """The response of a JSON array of already rendered items, as DRF would send it."""
    body = b"[" + b",".join(items) + b"]"
    return HttpResponse(body, content_type=RENDERER.media_type, headers=headers)
