"""The catalog pages' reading of the API, and pure helpers for them.

A page of the Actions or Packs list costs a fixed number of API calls, whatever the size of
the catalog: StackStorm's `limit`, `offset`, `pack` and `include_attributes`, and two
extensions of this project's API where the server offers them (St2Client.extensions):
`action_search` (GET /actions?q=) and `pack_action_counts`. In front of a StackStorm server,
which has neither, a search reads the first SEARCH_SCAN_LIMIT actions (in pages of 100) and
filters them here, and a page of packs asks for each pack's count (limit=1, X-Total-Count).
"""

from dataclasses import dataclass

from portal.forms import shown_value
from portal.paging import PAGE_SIZE, window
from st2bridge.params import MASK, ordered_parameters

ACTION_FIELDS = "ref,pack,name,description,tags"  # what a row of the Actions list shows
PACK_FIELDS = "ref,name,description,version"
SEARCH_SCAN_LIMIT = 2000  # actions read for a search where the server cannot search
MAX_SEARCH_CHARACTERS = 200  # as the embedded API's ?q= (st2bridge.catalog)
MAX_SEARCH_WORDS = 10
MAX_PACK_REF = 100


@dataclass
class ActionPage:
    actions: list
    total: int
    scanned: int = 0  # > 0: only the first `scanned` actions were searched (of `catalog`)
    catalog: int = 0


def search_problem(query, pack=""):
    """Why the Actions page cannot search `query` in `pack` (shown beside the search field),
    or "": the limits of the embedded API's ?q=, applied whatever the server."""
    if len(query) > MAX_SEARCH_CHARACTERS:
        return f"Search with at most {MAX_SEARCH_CHARACTERS} characters."
    if len(query.split()) > MAX_SEARCH_WORDS:
        return f"Search with at most {MAX_SEARCH_WORDS} words."
    if len(pack) > MAX_PACK_REF:
        return f"A pack's ref has at most {MAX_PACK_REF} characters."
    return ""


def action_page(client, extensions, page, query="", pack="", size=PAGE_SIZE):
    """Page `page` of the actions of `pack` (every pack when empty) matching `query`, in the
    API's order (pack, then name): one call, or up to SEARCH_SCAN_LIMIT / 100 calls for a
    search where the server has no ?q=."""
    filters = {"pack": pack, "include_attributes": ACTION_FIELDS}
    if query and extensions.get("action_search"):
        filters["q"] = query
    elif query:
        scanned, catalog = client.first_actions(SEARCH_SCAN_LIMIT, **filters)
        found = search_actions(scanned, query)
        start = (page - 1) * size
        truncated = len(scanned) if len(scanned) < catalog else 0
        return ActionPage(found[start : start + size], len(found), truncated, catalog)
    actions, total = client.list_actions_page(**window(page, size), **filters)
    return ActionPage(actions, total)


def pack_page(client, extensions, page, size=PAGE_SIZE):
    """(packs of page `page`, each with its count of actions as "action_count", total):
    two calls, or one per pack more where the server cannot count."""
    packs, total = client.list_packs_page(**window(page, size), include_attributes=PACK_FIELDS)
    refs = [pack["ref"] for pack in packs]
    if extensions.get("pack_action_counts"):
        counts = client.pack_action_counts(refs) if refs else {}
    else:
        counts = {
            ref: client.list_actions_page(limit=1, pack=ref, include_attributes="ref")[1]
            for ref in refs
        }
    return [{**pack, "action_count": counts.get(pack["ref"], 0)} for pack in packs], total


def search_text(action):
    """Lower-case text a search matches: ref (pack.name), description and tags."""
    tags = " ".join(
        f"{tag.get('name', '')} {tag.get('value', '')}"
        for tag in action.get("tags") or []
        if isinstance(tag, dict)
    )
    parts = [action.get(key) or "" for key in ("ref", "description")]
    return " ".join([*parts, tags]).lower()


def search_actions(actions, query):
    """The actions whose search text holds every word of the query, in their order."""
    words = (query or "").lower().split()
    return [action for action in actions if all(word in search_text(action) for word in words)]


def with_problems(packs, problems):
    """(packs, unplaced): each pack dict with its `registration_problems` (those of its ref,
    errors first), and the problems of no pack (a pack.yaml that could not be read, a missing
    packs directory, a runner file)."""
    by_pack = {}
    for problem in sorted(problems, key=lambda problem: problem.get("level") != "error"):
        by_pack.setdefault(problem.get("pack") or "", []).append(problem)
    marked = [{**pack, "registration_problems": by_pack.get(pack.get("ref"), [])} for pack in packs]
    return marked, by_pack.get("", [])


def parameter_rows(merged):
    """Rows of the parameter table in StackStorm's order; secret defaults masked."""
    rows = []
    for name, spec in ordered_parameters(merged):
        has_default = "default" in spec
        default = spec.get("default")
        rows.append(
            {
                "name": name,
                "type": spec.get("type", ""),
                "required": bool(spec.get("required")),
                "secret": bool(spec.get("secret")),
                "immutable": bool(spec.get("immutable")),
                "description": spec.get("description", ""),
                "enum": [shown_value(choice) for choice in spec.get("enum") or []],
                "has_default": has_default,
                "default": MASK if spec.get("secret") and has_default else shown_value(default),
            }
        )
    return rows
