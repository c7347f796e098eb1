"""Pack indexes (GET /packs/index, POST /packs/index/search, GET /packs/index/health): the
packs one may install, as StackStorm's index files list them ({"packs": {name: {...}}}).

Which indexes: settings.ST2_PACK_INDEX_URLS, http(s):// URLs or file:// paths, read on each
call as StackStorm reads them. None by default (this server installs no pack from the
internet by itself), and then the index is empty: the lists are empty, not errors. With
indexes set, an index that cannot be read is reported in `status`, and, as StackStorm, the
index and search answer 400 when none gave a pack.
"""

import json
from urllib.parse import unquote, urlsplit

import requests
from django.conf import settings

from .errors import InvalidInput

EXCLUDED_FIELDS = ("repo_url", "email")  # StackStorm's: never searched
SEARCH_PRIORITY = ("name", "keywords")  # matches there come first, in this order
TIMEOUT = 10  # seconds per index


def _read(url):
    """The JSON document at `url` (http, https or file)."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        with open(unquote(parts.path), encoding="utf-8") as handle:
            return json.load(handle)
    response = requests.get(url, timeout=TIMEOUT)
    response.raise_for_status()
    return response.json()


def fetch(urls=None):
    """(index, status): the packs of every index, the first index winning a name, and one
    status entry per index ({url, packs, message, error}), as StackStorm compiles them."""
    urls = settings.ST2_PACK_INDEX_URLS if urls is None else urls
    index, status = {}, []
    for url in reversed(urls):  # earlier indexes win, so they are merged last
        entry = {"url": url, "packs": 0, "message": None, "error": None}
        document = None
        try:
            document = _read(url)
        except ValueError as error:
            entry["error"], entry["message"] = "malformed", repr(error)
        except (OSError, requests.RequestException) as error:
            entry["error"], entry["message"] = "unresponsive", repr(error)
        if document == {}:
            entry["error"], entry["message"] = "empty", "The index URL returned an empty object."
        elif isinstance(document, list):
            entry["error"] = "malformed"
            entry["message"] = "Expected an index object, got a list instead."
        elif document and ("packs" not in document or not isinstance(document["packs"], dict)):
            entry["error"] = "malformed"
            entry["message"] = 'Index object is missing "packs" attribute.'
        if not entry["error"] and document is not None:
            entry["message"], entry["packs"] = "Success.", len(document["packs"])
            index.update(document["packs"])
        status.insert(0, entry)
    return index, status


def fetch_or_refuse():
    """fetch(), refusing (400, as StackStorm) when indexes are set and none gave a pack."""
    index, status = fetch()
    if not index and status:
        urls = ", ".join(entry["url"] for entry in status)
        kind = "index" if len(status) == 1 else "indexes"
        raise InvalidInput(
            f"No results from the {kind}: tried {urls}.\nStatus: {json.dumps(status, indent=4)}"
        )
    return index, status


def search(query):
    """The index's packs with `query` (case-insensitive) in any field but the excluded ones:
    matches in the name first, then in the keywords, then elsewhere."""
    if not isinstance(query, str) or not query:
        raise InvalidInput("Query must be specified.")
    index, _ = fetch_or_refuse()
    query = query.lower()
    ranked = [[] for _ in range(len(SEARCH_PRIORITY) + 1)]
    for pack in index.values():
        if not isinstance(pack, dict):
            continue
        for key, value in pack.items():
            if key in EXCLUDED_FIELDS or query not in _searchable(value):
                continue
            where = SEARCH_PRIORITY.index(key) if key in SEARCH_PRIORITY else -1
            ranked[where].append(pack)
            break
    return [pack for matches in ranked for pack in matches]


def _searchable(value):
    if isinstance(value, list):
        return [str(item).lower() for item in value]
    return str(value).lower()


def show(name):
    """The index's entry of the pack `name`, or None."""
    if not isinstance(name, str) or not name:
        raise InvalidInput("Pack name must be specified.")
    index, _ = fetch_or_refuse()
    return index.get(name)


def health():
    """Whether the indexes are reachable and valid, and how many packs they list."""
    _, status = fetch()
    indexes = {"count": len(status), "valid": 0, "invalid": 0, "errors": {}, "status": status}
    packs = 0
    for entry in status:
        if entry["error"]:
            indexes["invalid"] += 1
            indexes["errors"][entry["error"]] = indexes["errors"].get(entry["error"], 0) + 1
        else:
            indexes["valid"] += 1
        packs += entry["packs"]
    return {"indexes": indexes, "packs": {"count": packs}}
