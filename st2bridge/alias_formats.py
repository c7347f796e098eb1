"""Action alias formats, read as StackStorm reads them (st2common's action_alias_utils and
actionalias_matching): how a chat command becomes an action's parameters. Pure: no database;
an alias here is anything with `formats`, `enabled`, `pack` and `description`.

A format is a string, or {"display": ..., "representation": [...], "match_multiple": bool}:
the display is the help text, each representation a pattern. A representation is a regular
expression in which
- `{{ name }}` captures a parameter, `{{ name = default }}` an optional one (the default may be
  quoted, or a {...} object); a captured value may be quoted in the command;
- `^` and `$` are added around it unless it has anchors of its own;
- `key=value` pairs at the end of a command (value quoted, a {...} object or one word) set any
  parameter, the format's included, and are cut from the command before it is matched.

A command matches when exactly one enabled alias's representation matches it (formats with
`match_multiple` are tried only when no other matched; each of their matches in the command
is one execution).

Patterns come from administrators (aliases and packs are theirs), commands from any caller:
every match runs on the `regex` package in re's syntax and stops after ST2_REGEX_TIMEOUT, and a
command is at most MAX_COMMAND characters, so no command makes the server work without bound.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

import regex

from .errors import InvalidInput
from .rules.operators import PatternTimeout, compile_pattern, regex_time_limit

MAX_COMMAND = 4096  # characters

# The pieces StackStorm's parser builds its expressions from.
_KEY = r"\s*(\S+?)\s*"
_VALUE = r'""|\'\'|"(.+?)"|\'(.+?)\'|({.+?})|(\S+)'  # quoted, {object} or one word
_ANY_VALUE = r'""|\'\'|"(.+?)"|\'(.+?)\'|({.+?})|(.+?)'  # ... or any text (defaults)
_PAIR = rf"(?:^|\s+){_KEY}=({_VALUE})"
_ENDING = rf".*?(({_PAIR}\s*)*)$"
_OPTIONAL = "{{" + _KEY + rf"\s*=\s*(?:{_ANY_VALUE})\s*" + "}}"
_REQUIRED = "{{" + _KEY + "}}"
# What a parameter captures: the text inside quotes, a {...} object, or else any text.
_CAPTURE = r"""["']?(?P<{name}>(?:(?<=').+?(?=')|(?<=").+?(?=")|\{{.+?\}}|.+?))["']?"""

FORMAT_SCHEMA = {
    "type": "array",
    "items": {
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "properties": {
                    "display": {"type": "string"},
                    "representation": {"type": "array", "items": {"type": "string"}},
                    "match_multiple": {"type": "boolean"},
                },
            },
        ]
    },
}


class NoMatch(ValueError):
    """The command does not fit the format (StackStorm's ParseException)."""


@dataclass(frozen=True)
class Pattern:
    """One representation of one alias's format."""

    alias: object
    format: object  # the format as the alias gives it
    display: str | None
    representation: str
    match_multiple: bool = False


# --- formats ---------------------------------------------------------------------------------


def normalised(alias_format):
    """(display, representations, match_multiple) of a format, string or dict."""
    if isinstance(alias_format, str):
        return alias_format, [alias_format], False
    if isinstance(alias_format, dict):
        representations = alias_format.get("representation") or []
        if isinstance(representations, str):
            representations = [representations]
        return (
            alias_format.get("display"),
            list(representations),
            bool(alias_format.get("match_multiple", False)),
        )
    raise InvalidInput(f"alias format {alias_format!r} is neither a dictionary nor a string.")


def format_strings(formats):
    """The strings a POST /aliasexecution `format` may name: plain formats and every
    representation (StackStorm's ActionAliasDB.get_format_strings)."""
    found = []
    for alias_format in formats or []:
        if isinstance(alias_format, dict) and alias_format.get("representation"):
            found.extend(alias_format["representation"])
        else:
            found.append(alias_format)
    return found


def patterns(aliases):
    """Every (alias, representation) pair; a format with only a display gives one whose
    representation is empty (it matches an empty command)."""
    found = []
    for alias in aliases:
        for alias_format in alias.formats or []:
            display, representations, multiple = normalised(alias_format)
            for representation in representations or [""]:
                found.append(Pattern(alias, alias_format, display, representation, multiple))
    return found


def check_formats(formats):
    """Raise InvalidInput naming the first representation that is not a usable pattern (a
    bad regular expression, a parameter name that cannot name a group, a name used twice)."""
    for index, alias_format in enumerate(formats or []):
        for representation in normalised(alias_format)[1]:
            try:
                _compiled(representation)
            except (re.error, regex.error, ValueError, TypeError, IndexError) as error:
                raise InvalidInput(
                    f'formats[{index}]: "{representation}" is not a valid format: {error}'
                ) from None


@lru_cache(maxsize=1024)
def _compiled(representation):
    """(the representation as a compiled pattern, its optional parameters' defaults)."""
    defaults = [
        (found[0], "".join(found[1:])) for found in re.findall(_OPTIONAL, representation, re.DOTALL)
    ]
    pattern = re.sub(r"(\s*)" + _OPTIONAL, lambda m: f"(?:{_capture(m)})?", representation)
    pattern = re.sub(r"(\s*)" + _REQUIRED, _capture, pattern)
    begins, ends = _anchors(pattern)
    if not begins:
        pattern = r"^\s*" + pattern
    if not ends:
        pattern = pattern + r"\s*$"
    return compile_pattern(pattern, re.DOTALL), tuple(defaults)


def _capture(match):
    return match.group(1) + _CAPTURE.format(name=match.group(2))


def _anchors(pattern):
    """(has a beginning anchor, has an end anchor) anywhere in `pattern`: ^ or \\A, $ or \\Z,
    outside character classes and escapes (StackStorm searches the parsed expression)."""
    begins = ends = in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            following = pattern[index + 1 : index + 2]
            if not in_class:
                begins = begins or following == "A"
                ends = ends or following == "Z"
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # A ] right after [ or [^ is a member, not the end of the class.
            if pattern[index + 1 : index + 2] == "^":
                index += 1
            if pattern[index + 1 : index + 2] == "]":
                index += 1
        elif char == "^":
            begins = True
        elif char == "$":
            ends = True
        index += 1
    return begins, ends


# --- commands --------------------------------------------------------------------------------


def extract(representation, command, multiple=False):
    """The parameters `command` gives through `representation`: a dict, or with `multiple` a
    list of them (one per match). Raises NoMatch when it does not fit, InvalidInput when it
    is too long or too costly to match."""
    if len(command) > MAX_COMMAND:
        raise InvalidInput(f"command: longer than {MAX_COMMAND} characters.")
    compiled, defaults = _compiled(representation)
    pairs, stream = _pairs_at_end(command)
    try:
        with regex_time_limit(representation) as timeout:
            if multiple:
                found = list(compiled.finditer(stream, timeout=timeout))
            else:
                found = [compiled.search(stream, timeout=timeout)]
    except PatternTimeout as error:
        raise InvalidInput(f"command: {error}") from None
    results = [_parameters(match, defaults, pairs, representation, command, stream)
               for match in found]  # fmt: skip
    return results if multiple else results[0]


def _pairs_at_end(command):
    """([(key, value)] of the key=value pairs ending the command, the rest padded with a
    space each side), as StackStorm cuts them."""
    try:
        with regex_time_limit(_ENDING) as timeout:
            ending = compile_pattern(_ENDING, re.DOTALL).match(command, timeout=timeout)
            text = ending.group(1) if ending else ""
            pairs = []
            if text:
                found = compile_pattern(_PAIR, re.DOTALL).findall(text, timeout=timeout)
                pairs = [(groups[0], "".join(groups[2:])) for groups in found]
    except PatternTimeout:
        raise InvalidInput("command: too costly to read its key=value pairs.") from None
    stream = command.replace(text, "") if text else command
    return pairs, f" {stream} "


def _parameters(match, defaults, pairs, representation, command, stream):
    if match is None:
        raise NoMatch(f'Command "{command}" doesn\'t match format string "{representation}"')
    result = match.groupdict()
    for name, default in defaults:
        result[name] = result.get(name) or default
    for name, value in pairs:
        result[name] = value
    if representation and not (stream.strip() or any(result.values())):
        raise NoMatch("No value supplied and no default value found.")
    return result


def matches(command, candidates):
    """The patterns among `candidates` that `command` fits."""
    found = []
    for pattern in candidates:
        try:
            extract(pattern.representation, command)
        except NoMatch:
            continue
        found.append(pattern)
    return found


def matching(command, aliases):
    """The one pattern of the enabled `aliases` that `command` fits; InvalidInput (400) when
    none or several do, with StackStorm's messages."""
    enabled = [pattern for pattern in patterns(aliases) if pattern.alias.enabled]
    found = matches(command, [p for p in enabled if not p.match_multiple])
    if len(found) > 1:
        raise InvalidInput(f"Command '{command}' matched more than 1 pattern")
    if not found:
        found = matches(command, [p for p in enabled if p.match_multiple])
        if len(found) > 1:
            raise InvalidInput(f"Command '{command}' matched more than 1 (multi) pattern")
        if not found:
            raise InvalidInput(f"Command '{command}' matched no patterns")
    return found[0]


# --- help --------------------------------------------------------------------------------------


def helpstrings(aliases, search="", pack="", limit=0, offset=0):
    """StackStorm's GET /actionalias/help answer: {"available": count, "helpstrings": [...]},
    the displays of enabled aliases (of `pack`, matching the regular expression `search`,
    case-insensitively), `limit` of them from `offset` (0: no bound)."""
    try:
        wanted = compile_pattern(search or "", re.IGNORECASE)
    except (re.error, regex.error) as error:
        raise InvalidInput(f"filter: not a valid regular expression: {error}") from None
    shown, count = [], 0
    for alias in aliases:
        if not alias.enabled or (pack and alias.pack != pack):
            continue
        for alias_format in alias.formats or []:
            display = normalised(alias_format)[0]
            if not display or not _found(wanted, search, display):
                continue
            if count >= offset and (not limit or count < offset + limit):
                shown.append(
                    {"pack": alias.pack, "display": display, "description": alias.description}
                )
            count += 1
    return {"available": count, "helpstrings": shown}


def _found(compiled, search, text):
    try:
        with regex_time_limit(search) as timeout:
            return compiled.search(text, timeout=timeout) is not None
    except PatternTimeout as error:
        raise InvalidInput(f"filter: {error}") from None
