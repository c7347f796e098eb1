"""The bounded-work Jinja sandbox: what keeps a template from making a web process do unbounded
work (issue 12). A template comes from whoever launches an action or writes a rule and renders
in a web process; breaking a bound raises InvalidInput, which callers report as they report
any bad input (a 400 through the API, a failed enforcement in rules).

- time: settings.ST2_TEMPLATE_MAX_SECONDS, checked at every loop iteration, call, filter,
  attribute access, operator and output. One built-in operation cannot be interrupted, so
  the sizes below bound those;
- sizes: no string, list or output beyond settings.ST2_TEMPLATE_MAX_LENGTH characters or
  items, measured as the value prints (a list holding one long string n times counts it n
  times). Checked before the operation that would build it (`*`, `+`, `~`, `%`, `str.format`,
  the methods and filters taking a width or a count), and wherever a value is printed,
  compared, hashed or handed to a filter or a call;
- integers: `**` and `*` refuse results beyond MAX_INT_DIGITS decimal digits.

The checks themselves are st2bridge/jinja_budget.py; this module puts them where Jinja does
the work (the environment's hooks, the compiled code, the filters). Both know Jinja and the
limits, nothing of StackStorm: no database, no models. st2bridge/templating.py uses only:

- bounded_environment(filters, **options): a BoundedEnvironment with Jinja's filters and tests
  plus `filters`, every one wrapped in the bounds;
- within_bounds(work, *args): work(*args) as one render, under one deadline (compile inside
  it: Jinja folds constants, calling filters, while it compiles);
- tick(), check_length(what, estimate), measured(value): the checks, for filters that do
  work of their own.
"""

import functools
import textwrap
import time
from collections.abc import Mapping

from jinja2 import filters as jinja_filters
from jinja2 import nodes, pass_environment, pass_eval_context
from jinja2.compiler import CodeGenerator
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum
from jinja2.visitor import NodeTransformer

from .jinja_budget import (
    BINOP_CHECKS,
    FILTER_SIZES,
    check_call,
    check_int,
    check_length,
    current_limits,
    finalized,
    format_size,
    measured,
    printed_size,
    tick,
    too_long,
    within_bounds,
)

__all__ = [
    "BoundedEnvironment",
    "bounded_environment",
    "check_length",
    "measured",
    "tick",
    "within_bounds",
]


# --- Jinja's filters, bounded -----------------------------------------------------------------


class _TickingWrapper(textwrap.TextWrapper):
    def _handle_long_word(self, reversed_chunks, cur_line, cur_len, width):
        tick()  # splitting a long word copies the rest of it: quadratic on a long word
        super()._handle_long_word(reversed_chunks, cur_line, cur_len, width)


@pass_environment
def _wordwrap(
    environment, s, width=79, break_long_words=True, wrapstring=None, break_on_hyphens=True
):
    """Jinja's wordwrap, with the time limit checked while a long word is split."""
    wrapstring = environment.newline_sequence if wrapstring is None else wrapstring
    lines = 2 * len(s) // max(width, 1) + s.count("\n") + 1
    check_length("wordwrap", len(s) + lines * len(wrapstring))
    wrapper = _TickingWrapper(
        width=width,
        expand_tabs=False,
        replace_whitespace=False,
        break_long_words=break_long_words,
        break_on_hyphens=break_on_hyphens,
    )
    return wrapstring.join(wrapstring.join(wrapper.wrap(line)) for line in s.splitlines())


@pass_eval_context
def _join(eval_ctx, value, d="", attribute=None):
    """Jinja's join, with the items counted first (the separator repeats between each)."""
    items = list(value)
    check_length("join", len(str(d)) * len(items) + printed_size(items))
    return jinja_filters.sync_do_join(eval_ctx, items, d, attribute)


@pass_environment
def _sum(environment, iterable, attribute=None, start=0):
    """Jinja's sum; lists and tuples are added in linear time (sum() copies the total at
    every step: a thousand lists of a thousand took seconds)."""
    if not isinstance(start, list | tuple):
        return jinja_filters.sync_do_sum(environment, iterable, attribute, start)
    if attribute is not None:
        iterable = map(jinja_filters.make_attrgetter(environment, attribute), iterable)
    total = list(start)
    for item in iterable:
        if not isinstance(item, type(start)):
            kind = type(start).__name__
            raise TypeError(f'can only concatenate {kind} (not "{type(item).__name__}") to {kind}')
        total.extend(item)
        check_length("sum", len(total))
    return type(start)(total)


def _bounded_filter(name, function):
    """`function` with the time limit, its arguments measured, a bound on what a size
    parameter asks for, and its result measured."""
    skip = 1 if getattr(function, "jinja_pass_arg", None) else 0  # context or environment
    estimate = FILTER_SIZES.get(name)

    @functools.wraps(function)
    def run(*args, **kwargs):
        tick()
        for value in (*args[skip:], *kwargs.values()):
            measured(value)
        if estimate is not None:
            try:
                size = estimate(*args[skip:], **kwargs)
            except (TypeError, ValueError, AttributeError):
                size = None  # a wrong call: the filter itself reports it
            if size is not None:
                check_length(name, size)
        return measured(function(*args, **kwargs))

    return run


def _lipsum(n=5, html=True, min=20, max=100):  # Jinja's names
    if isinstance(n, int) and isinstance(max, int):
        check_length("lipsum()", n * max * 12)
    return generate_lorem_ipsum(n, html, min, max)


# --- the environment --------------------------------------------------------------------------


def _internal_call(method, node):
    """A node compiling to `environment.<method>(<node>)` (see _Code.visit_Call; Jinja forbids
    new node types, and its parser never makes an EnvironmentAttribute)."""
    return nodes.Call(
        nodes.EnvironmentAttribute(method), [node], [], None, None, lineno=node.lineno
    )


class _Bounds(NodeTransformer):
    """Routes through the environment what the sandbox does not see: loops (checked at each
    iteration), `~` (sized before joining), and comparison operands and dict keys (sized
    before they are compared or hashed, which walks them)."""

    def visit_For(self, node):
        self.generic_visit(node)
        node.iter = _internal_call("bounded_loop", node.iter)
        return node

    def visit_Concat(self, node):
        self.generic_visit(node)
        parts = nodes.Tuple(node.nodes, "load", lineno=node.lineno)
        return _internal_call("bounded_join", parts)

    def visit_Compare(self, node):
        self.generic_visit(node)
        node.expr = _measured_node(node.expr)
        for operand in node.ops:
            operand.expr = _measured_node(operand.expr)
        return node

    def visit_Pair(self, node):
        self.generic_visit(node)
        node.key = _measured_node(node.key)
        return node


def _measured_node(node):
    if isinstance(node, nodes.Const):
        return node
    return _internal_call("measured", node)


_INTERNAL_CALLS = frozenset({"bounded_loop", "bounded_join", "measured"})


class _Code(CodeGenerator):
    def visit_Call(self, node, frame, forward_caller=False):
        internal = isinstance(node.node, nodes.EnvironmentAttribute)
        if not (internal and node.node.name in _INTERNAL_CALLS):
            return super().visit_Call(node, frame, forward_caller=forward_caller)
        self.write(f"environment.{node.node.name}(")
        self.visit(node.args[0], frame)
        self.write(")")


def _bounded_loop(iterable):
    deadline = current_limits().deadline
    for item in iterable:
        if time.monotonic() > deadline:
            tick()
        yield item


def _bounded_join(parts):
    """`~`: "".join(map(str, parts)), each part sized before it is printed."""
    limit = current_limits().length
    for part in parts:
        if type(part) is not str and printed_size(part, limit) > limit:
            raise too_long("the output")
    return _bounded_concat(map(str, parts))


def _bounded_concat(parts):
    """ "".join(parts) for the output and buffers (macros, blocks), counting as it goes: a loop
    may print one long string many times."""
    limit = current_limits().length
    texts, total = [], 0
    for part in parts:
        total += len(part)
        if total > limit:
            raise too_long("the output")
        texts.append(part)
    return "".join(texts)


class BoundedEnvironment(SandboxedEnvironment):
    """The sandbox, with the bounds of the module docstring."""

    code_generator_class = _Code
    intercepted_binops = frozenset(BINOP_CHECKS)
    concat = staticmethod(_bounded_concat)
    bounded_join = staticmethod(_bounded_join)
    bounded_loop = staticmethod(_bounded_loop)
    measured = staticmethod(measured)

    def _generate(self, source, *args, **kwargs):
        return super()._generate(_Bounds().visit(source), *args, **kwargs)

    def call_binop(self, context, operator, left, right):
        tick()
        BINOP_CHECKS[operator](left, right)
        result = super().call_binop(context, operator, left, right)
        if type(result) is int:
            check_int(f'"{operator}"', result.bit_length())
        return result

    def getattr(self, obj, attribute):
        tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj, argument):
        tick()
        if isinstance(argument, tuple):
            measured(argument)  # hashed
        return super().getitem(obj, argument)

    def call(self, context, function, /, *args, **kwargs):
        tick()
        args = check_call(function, args, kwargs)
        result = super().call(context, function, *args, **kwargs)
        receiver = getattr(function, "__self__", None)
        if isinstance(receiver, list | dict | set):  # grown by append, update, ...
            check_length(f"{getattr(function, '__name__', 'a call')}()", len(receiver))
        return measured(result)

    def wrap_str_format(self, value):
        formatted = super().wrap_str_format(value)
        if formatted is None:
            return None
        fmt, is_map = value.__self__, value.__name__ == "format_map"

        @functools.wraps(formatted)
        def checked(*args, **kwargs):
            mapping = args[0] if is_map and args and isinstance(args[0], Mapping) else kwargs
            check_length("format()", format_size(fmt, () if is_map else args, mapping))
            return formatted(*args, **kwargs)

        return checked


def bounded_environment(filters, **options):
    """A BoundedEnvironment with Jinja's filters and tests plus `filters` (Jinja's own
    wordwrap, sum and join replaced by bounded ones), every one run within the bounds.
    `options` are Jinja's (undefined, autoescape, ...); finalize is the output check."""
    env = BoundedEnvironment(finalize=finalized, **options)
    env.filters.update(filters)
    env.filters.update({"wordwrap": _wordwrap, "sum": _sum, "join": _join})
    env.filters = {name: _bounded_filter(name, f) for name, f in env.filters.items()}
    env.tests = {name: _bounded_filter(name, test) for name, test in env.tests.items()}
    env.globals["lipsum"] = _lipsum
    return env
