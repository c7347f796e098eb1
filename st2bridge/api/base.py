"""What every API view shares: routing quirks, JSON bodies, query parameters, paging,
attribute selection and timestamps, all as StackStorm does them (notes §1)."""

import json
import math
import re
from urllib.parse import parse_qs

from django.conf import settings
from django.urls import re_path
from django.utils.dateparse import parse_datetime
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from st2bridge import access
from st2bridge.bodies import json_type
from st2bridge.errors import InvalidInput, NotFound

from .authentication import refresh_token_cookie

NOT_FOUND = "The resource could not be found."
MAX_OFFSET = 2**31
INTEGER = re.compile(r"^-?[0-9]+$")
TIMESTAMP = re.compile(
    r"^\d{4}-\d{2}-\d{2}(\s|T)\d{2}:\d{2}:\d{2}(\.\d{3,6})?(Z|\+00|\+0000|\+00:00)$"
)
TRUE_WORDS = {"true", "1", "yes", "y"}
FALSE_WORDS = {"false", "0", "no", "n"}


class AlwaysJson(BaseContentNegotiation):
    """StackStorm answers JSON whatever the Accept header says; so do we (no 406)."""

    def select_parser(self, request, parsers):
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ApiView(APIView):
    """An API operation. Unknown methods are 404 before authentication, as StackStorm routes;
    so is HEAD, which StackStorm's router does not serve (Django would answer it as a GET).
    A request authenticated by a token in its header or query gets the `auth-token` cookie
    that event streams accept (st2bridge.api.authentication)."""

    content_negotiation_class = AlwaysJson

    def initial(self, request, *args, **kwargs):
        if request.method == "HEAD" or not hasattr(self, request.method.lower()):
            raise NotFound(NOT_FOUND)
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        refresh_token_cookie(response, request)
        return response

    @property
    def caller(self):
        return self.request.auth


def route(pattern, view):
    """A route under the site root; a trailing slash is optional, as in StackStorm."""
    return re_path(rf"^{pattern}/?$", view.as_view())


# --- request bodies -----------------------------------------------------------------------


def parse_body(request):
    """The request body, as StackStorm parses bodies: JSON of any type, form fields as a dict
    of lists, and an empty body as {}."""
    media_type = (request.content_type or "").split(";")[0].strip().lower()
    if media_type == "multipart/form-data":  # Django's parser (DRF's has none configured)
        return _checked(dict(getattr(request, "_request", request).POST.lists()))
    raw = request.body
    if not raw.strip():
        return {}
    if media_type == "application/x-www-form-urlencoded":
        return _checked(parse_qs(raw.decode("utf-8", "replace")))
    if media_type not in ("", "application/json", "text/plain") and not media_type.endswith(
        "+json"
    ):
        raise InvalidInput(
            f'Failed to parse request body: Unsupported Content-Type: "{media_type}"'
        )
    return loads(raw, "body", "Failed to parse request body: ")


def _checked(form):
    check_json(form)
    return form


def loads(raw, where, prefix=""):
    """JSON text (bytes or str) parsed and checked by check_json(); a parse error, or nesting
    too deep for the parser itself, is an InvalidInput starting with `prefix`."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise InvalidInput(f"{prefix}{where}: {_too_deep()}") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInput(f"{prefix}{error}") from None
    check_json(value, where)
    return value


def check_json(value, where="body"):
    """Refuse, at any depth, what JSON parses but nothing downstream can hold:
    - nesting deeper than settings.ST2_MAX_JSON_DEPTH (every later walk of the value recurses);
    - NaN, Infinity and -Infinity (Python's parser accepts them, and 1e999 becomes infinity;
      they are not JSON, no JSON column stores them and comparisons with them are false);
    - NUL characters and lone surrogates (escapes like \\ud800) in keys and strings.
    Iterative, so that the check itself cannot run out of stack."""
    limit = settings.ST2_MAX_JSON_DEPTH
    pending = [(value, where, 1)]
    while pending:
        item, path, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                raise InvalidInput(f"{path}: {_too_deep()}")
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_text(key, path)
                    pending.append((child, f"{path}.{key}", depth + 1))
            else:
                pending.extend((child, path, depth + 1) for child in item)
        elif isinstance(item, str):
            _check_text(item, path)
        elif isinstance(item, float) and not math.isfinite(item):
            spelled = "NaN" if math.isnan(item) else ("Infinity" if item > 0 else "-Infinity")
            raise InvalidInput(
                f"{path}: {spelled} is not a JSON number (NaN, Infinity and -Infinity, "
                "or a number too large to hold, are not allowed)."
            )


def _too_deep():
    return (
        f"nested deeper than {settings.ST2_MAX_JSON_DEPTH} levels "
        "(ST2_MAX_JSON_DEPTH), which is not allowed."
    )


def _check_text(value, where):
    if not isinstance(value, str):
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{where}: contains an invalid Unicode escape.") from None
    if "\x00" in value:
        raise InvalidInput(f"{where}: NUL characters are not allowed.")


def json_body(request):
    """The request body as a dict (parse_body, then refuse anything but an object)."""
    body = parse_body(request)
    if not isinstance(body, dict):
        raise InvalidInput(f"Input body needs to be an object, got: {json_type(body)}")
    return body


# --- query parameters ---------------------------------------------------------------------


def query_bool(request, name, default=False):
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in TRUE_WORDS:
        return True
    if raw.lower() in FALSE_WORDS:
        return False
    raise InvalidInput(f'Parameter "{name}" is not of type boolean')


MAX_QUERY_INT = 2**31 - 1  # databases store no larger offsets or limits


def query_int(request, name, bounded=True):
    """An integer query parameter; `bounded`: refused beyond what databases store (paging
    says so in StackStorm's words itself for offsets)."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not INTEGER.match(raw):
        raise InvalidInput(f'Parameter "{name}" is not of type integer')
    value = int(raw)
    if bounded and abs(value) > MAX_QUERY_INT:
        raise InvalidInput(f'Parameter "{name}" is out of range (at most {MAX_QUERY_INT})')
    return value


def query_filters(request, allowed):
    """Allow-listed filters {param: orm lookup}; unknown parameters and empty values are
    ignored; time bounds (lookups ending in __gt/__lt) must be UTC timestamps (notes §1.5)."""
    lookups = {}
    for param, field in allowed.items():
        value = request.query_params.get(param)
        if value in (None, ""):
            continue
        if field.endswith(("__gt", "__lt")):
            value = parse_timestamp(param, value)
        lookups[field] = value
    return lookups


def query_sort(request, sortable, default):
    """The ORM ordering StackStorm's `sort=` asks for (on the resources that take it): a
    comma-separated list of the resource's filter names (`sortable`: name -> field), each
    descending with a leading "-" ("+" or nothing: ascending); other names are ignored, as
    StackStorm ignores them, and with none left the resource's `default` order applies."""
    order = []
    for part in request.query_params.get("sort", "").split(","):
        part = part.strip()  # a "+" in a query string arrives as a space
        name = part.lstrip("+-")
        if name in sortable:
            order.append(("-" if part.startswith("-") else "") + sortable[name])
    return order or list(default)


def parse_timestamp(param, value):
    """A UTC timestamp a query parameter gives (notes §1.5), or InvalidInput naming it."""
    if not TIMESTAMP.match(value):
        raise InvalidInput(f'Parameter "{param}" is not a valid UTC ISO 8601 timestamp')
    return parse_datetime(value.replace(" ", "T"))


def show_secrets(request, caller):
    """Unmasked secrets only for admins who ask for them."""
    return query_bool(request, "show_secrets") and access.may_see_secrets(caller)


# --- paging -------------------------------------------------------------------------------


def page_window(request, caller, default_limit=None, int_spelled="32-bit"):
    """(limit, offset) that limit/offset ask for, with StackStorm's limit rules (notes §1.6);
    limit None: to the end. `int_spelled`: how the resource's refusal of a huge offset spells
    "32-bit" (/apikeys: "32 bit")."""
    limit = query_int(request, "limit")
    offset = query_int(request, "offset", bounded=False) or 0
    if limit is None:
        limit = default_limit
    elif limit == 0:
        raise InvalidInput(
            'Limit, "0" specified, must be a positive number or -1 for full result set.'
        )
    elif limit == -1:
        access.require_admin(
            caller,
            refusal="Administrator access required to be able to specify limit=-1 and "
            "retrieve all the records",
        )
        limit = None
    elif limit < -1:
        raise InvalidInput(f'Limit, "{limit}" specified, must be a positive number.')
    elif limit > settings.ST2_MAX_PAGE_SIZE:
        access.require_admin(
            caller,
            refusal=f'Limit "{limit}" specified, maximum value is "{settings.ST2_MAX_PAGE_SIZE}"',
        )
    if offset < 0:
        raise InvalidInput(f'Offset, "{offset}" specified, must be a positive number.')
    if offset >= MAX_OFFSET:
        raise InvalidInput(f'Offset "{offset}" specified is more than {int_spelled} int')
    return limit, offset


def page_headers(total, limit):
    """StackStorm's X-Total-Count and X-Limit."""
    headers = {"X-Total-Count": str(total)}
    if limit is not None:
        headers["X-Limit"] = str(limit)
    return headers


def paginate(request, items, caller, default_limit=None, int_spelled="32-bit"):
    """Slice a queryset or list by limit/offset; return (page, headers)."""
    limit, offset = page_window(request, caller, default_limit, int_spelled)
    total = items.count() if hasattr(items, "count") and not isinstance(items, list) else len(items)
    page = items[offset:] if limit is None else items[offset : offset + limit]
    return list(page), page_headers(total, limit)


# --- attribute selection ------------------------------------------------------------------


def attribute_selector(request, shape):
    """A function trimming API dicts of `shape` (st2bridge.shapes) to include_attributes /
    exclude_attributes, which may name its fields only; include keeps its mandatory ones."""
    return selector(shape, *attribute_choice(request, shape))


def attribute_choice(request, shape):
    """(include, exclude): the names include_attributes and exclude_attributes give, as
    tuples, checked against `shape`."""
    include = _attribute_list(request, "include_attributes")
    exclude = _attribute_list(request, "exclude_attributes")
    if include and exclude:
        raise InvalidInput(
            "exclude_fields and include_fields arguments are mutually exclusive. "
            "You need to provide either one or another, but not both."
        )
    for kind, names in (("include", include), ("exclude", exclude)):
        for name in names:
            if name not in shape.names:
                raise InvalidInput(f"Invalid or unsupported {kind} attribute specified: {name}")
    return tuple(include), tuple(exclude)


def selector(shape, include, exclude):
    """The function of attribute_selector() for an attribute_choice()."""
    if include:
        keep = set(include) | set(shape.mandatory)
        return lambda data: {key: value for key, value in data.items() if key in keep}
    if exclude:
        return lambda data: {key: value for key, value in data.items() if key not in exclude}
    return lambda data: data


def _attribute_list(request, name):
    raw = request.query_params.get(name, "")
    # Dotted names select by their top-level part (action.ref -> action).
    return [part.strip().split(".")[0] for part in raw.split(",") if part.strip()]


def list_response(request, items, caller, to_api, shape, default_limit=None, **paging):
    """A page of `items` as `shape` answers, built by `to_api` and trimmed as asked
    (`paging`: paginate's other options)."""
    select = attribute_selector(request, shape)
    page, headers = paginate(request, items, caller, default_limit, **paging)
    return Response([select(to_api(item)) for item in page], headers=headers)
