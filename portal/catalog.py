"""Pure helpers for the catalog pages: search text of an action, search, grouping, and the
rows of a parameter table. No I/O: views fetch with St2Client and pass the dicts here."""

from portal.forms import shown_value
from st2bridge.params import MASK, ordered_parameters


def search_text(action):
    """Lower-case text a search matches: ref, name, description, pack and tags."""
    tags = " ".join(
        f"{tag.get('name', '')} {tag.get('value', '')}"
        for tag in action.get("tags") or []
        if isinstance(tag, dict)
    )
    parts = [action.get(key) or "" for key in ("ref", "name", "description", "pack")]
    return " ".join([*parts, tags]).lower()


def search_actions(actions, query):
    """Actions whose search text holds every word of the query, ordered by ref."""
    words = (query or "").lower().split()
    found = [action for action in actions if all(word in search_text(action) for word in words)]
    return sorted(found, key=lambda action: action.get("ref", ""))


def packs_with_actions(packs, actions):
    """[(pack, [actions of that pack by ref])] by pack ref."""
    by_pack = {}
    for action in sorted(actions, key=lambda action: action.get("ref", "")):
        by_pack.setdefault(action.get("pack"), []).append(action)
    return [
        (pack, by_pack.get(pack["ref"], []))
        for pack in sorted(packs, key=lambda pack: pack.get("ref", ""))
    ]


def with_problems(packs, problems):
    """(packs, unplaced): each pack dict with its `registration_problems` (those of its ref,
    errors first), and the problems of no listed pack (a pack.yaml that could not be read,
    a missing packs directory, a runner file)."""
    by_pack = {}
    for problem in sorted(problems, key=lambda problem: problem.get("level") != "error"):
        by_pack.setdefault(problem.get("pack") or "", []).append(problem)
    refs = {pack.get("ref") for pack in packs}
    marked = [{**pack, "registration_problems": by_pack.get(pack.get("ref"), [])} for pack in packs]
    unplaced = [problem for ref, found in by_pack.items() if ref not in refs for problem in found]
    return marked, unplaced


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
