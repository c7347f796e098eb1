"""Paging of the portal's lists, in one place: which page the query string asks for, the slice
to ask the API for, and what a page's pager shows."""

from datetime import date
from urllib.parse import urlencode

PAGE_SIZE = 25


def page_number(query):
    """The page `?page=` asks for: a whole number from 1; anything else is page 1."""
    raw = query.get("page", "1")
    return int(raw) if raw.isdigit() and int(raw) > 0 else 1


def window(page, size=PAGE_SIZE):
    """The `limit` and `offset` of `page` for a St2Client list call."""
    return {"limit": size, "offset": (page - 1) * size}


def page_link(filters, page):
    """`?filters&page=N`, keeping only the filters that are set."""
    kept = {name: value for name, value in (filters or {}).items() if value}
    return f"?{urlencode({**kept, 'page': page})}"


def pager(total, page, filters=None, size=PAGE_SIZE):
    """What the templates' pager shows: the total, the page and the page count, whether
    there is a next page, and links that keep the filters that are set (`query` for links the
    template builds; `previous_url`, `next_url`, `first_url` and `last_url`, empty where
    there is none or it is this page's neighbour)."""
    kept = {name: value for name, value in (filters or {}).items() if value}
    pages = max(1, -(-total // size))
    return {
        "total": total,
        "page": page,
        "pages": pages,
        "has_next": page < pages,
        "query": urlencode(kept),
        "previous_url": page_link(kept, page - 1) if page > 1 else "",
        "next_url": page_link(kept, page + 1) if page < pages else "",
        "first_url": page_link(kept, 1) if page > 2 else "",
        "last_url": page_link(kept, pages) if page < pages - 1 else "",
    }


def day_bounds(shown):
    """The API's timestamp_gt / timestamp_lt for the `since` and `until` dates of a filter
    form (whole UTC days: `until` includes its day), and {field: error} for a bad date."""
    api, errors = {}, {}
    bounds = (("since", "timestamp_gt", "00:00:00"), ("until", "timestamp_lt", "23:59:59"))
    for name, lookup, clock in bounds:
        if shown.get(name):
            try:
                day = date.fromisoformat(shown[name])
            except ValueError:
                errors[name] = "Enter a date as YYYY-MM-DD."
                continue
            api[lookup] = f"{day.isoformat()}T{clock}Z"
    return api, errors
