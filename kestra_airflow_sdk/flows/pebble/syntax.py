"""Pebble's grammar on Jinja2's parser (public API): the few places where the two languages differ.

Jinja2 and Pebble share the template structure (``{{ }}``, ``{% %}``, ``{# #}``, whitespace control
``{{- -}}``, ``{% raw %}``) and most of the expression grammar. The package's own lexer
(:mod:`.lexer`) reads Pebble's extra operators ``??``, ``???``, ``?`` (ternary) and ``..`` (range);
this module adapts the rest:

* the expression parser is Pebble's precedence-climbing parser (its operator table and
  precedences, e.g. ``|`` binds looser than ``~`` and ``??``; unary ``not``/``-`` bind tightest),
  producing Jinja nodes. Operators whose semantics differ from Python's compile to calls of
  internal filters named ``op:<name>`` (a name no template can spell);
* ``a ?? b`` evaluates ``a`` once: ``op:unwrap(op:coalesce(a) or op:box(b))``, where ``op:coalesce``
  boxes a present value and Python's ``or`` evaluates ``b`` only when ``a`` was absent;
* only Kestra's tags are parsed: ``if``/``elseif``/``else``, ``for``/``else``, ``set``, ``filter``
  and ``raw``; ``include``, ``import``, ``extends``, ``macro``, ``block`` ... are refused;
* a function is called by its bare name (``now()``) as the internal filter :data:`CALL` applied to
  the name, so a variable can never shadow it and calling anything else (a method) is refused;
  unpacked arguments (``now(*x)``, ``f(**kw)``) are a syntax error, never dropped.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from jinja2 import Environment, nodes
from jinja2.lexer import TokenStream
from jinja2.parser import Parser

from .lexer import PebbleLexer

__all__ = ["CALL", "TAGS", "PebbleParser", "function_calls", "is_template", "parse"]

#: the internal filter every function call goes through: ``op:call(name, *args, **kwargs)``
CALL = "op:call"
#: the tags Kestra's Pebble keeps (``raw`` is handled by the lexer)
TAGS = ("if", "for", "set", "filter")

# Pebble's binary operators (CoreExtension + Kestra's Extension): token -> (precedence, kind)
_BINARY: dict[str, tuple[int, str]] = {
    "name:or": (10, "or"),
    "name:and": (15, "and"),
    "name:is": (20, "is"),
    "name:contains": (20, "contains"),
    "eq": (30, "eq"),
    "name:equals": (30, "eq"),
    "ne": (30, "ne"),
    "gt": (30, "gt"),
    "lt": (30, "lt"),
    "gteq": (30, "gteq"),
    "lteq": (30, "lteq"),
    "add": (40, "add"),
    "sub": (40, "sub"),
    "mul": (60, "mul"),
    "div": (60, "div"),
    "mod": (60, "mod"),
    "pipe": (100, "filter"),
    "tilde": (110, "concat"),
    "op:??": (120, "coalesce"),
    "op:???": (120, "undefined_coalesce"),
    "op:..": (120, "range"),
}
_UNARY_PRECEDENCE = 500
_CLOSERS = {"elseif", "else", "endif", "endfor", "endfilter", "endraw"}
_LITERALS = {"true": True, "TRUE": True, "false": False, "FALSE": False}
_NULLS = {"null", "NULL", "none", "NONE"}


def is_template(text: str) -> bool:
    """Whether ``text`` opens a Pebble print, tag or comment (``{{``, ``{%``, ``{#``); any other text,
    braces included, is printed exactly as written."""
    return "{{" in text or "{%" in text or "{#" in text


class _ParsingEnvironment(Environment):
    """What Jinja2's parser needs of an environment: Pebble's lexer (and no extensions)."""

    @cached_property
    def lexer(self) -> PebbleLexer:
        return PebbleLexer(self)


_PARSING = _ParsingEnvironment(keep_trailing_newline=True)


def parse(source: str) -> nodes.Template:
    """The syntax tree of a Pebble template (raises Jinja2's ``TemplateSyntaxError``)."""
    return PebbleParser(_PARSING, source).parse()


def function_calls(tree: nodes.Node) -> list[str]:
    """The names of the functions a parsed template calls, in order."""
    return [
        str(node.node.as_const())
        for node in tree.find_all(nodes.Filter)
        if node.name == CALL and isinstance(node.node, nodes.Const)
    ]


class PebbleParser(Parser):
    """Jinja's statement parser with Pebble's expression grammar and Kestra's tag set."""

    stream: TokenStream

    # ------------------------------------------------------------------ tags

    def parse_statement(self) -> nodes.Node | list[nodes.Node]:
        token = self.stream.current
        if token.type == "name" and token.value in _CLOSERS:
            self.fail(f"unexpected {{% {token.value} %}}: no open block it belongs to", token.lineno)
        if token.type == "name" and token.value not in TAGS:
            hint = " (Pebble spells it elseif)" if token.value == "elif" else ""
            self.fail(
                f"unsupported tag {token.value!r}{hint}: Kestra templates support "
                "if/elseif/else, for/else, set, filter and raw",
                token.lineno,
            )
        return super().parse_statement()

    def parse_if(self) -> nodes.If:
        node = result = nodes.If(lineno=self.stream.expect("name:if").lineno)
        while True:
            node.test = self._truth(self.parse_expression())
            node.body = self.parse_statements(("name:elseif", "name:else", "name:endif"))
            node.elif_ = []
            node.else_ = []
            token = next(self.stream)
            if token.test("name:elseif"):
                node = nodes.If(lineno=self.stream.current.lineno)
                result.elif_.append(node)
                continue
            if token.test("name:else"):
                result.else_ = self.parse_statements(("name:endif",), drop_needle=True)
            break
        return result

    def parse_for(self) -> list[nodes.Node]:  # type: ignore[override]
        lineno = self.stream.expect("name:for").lineno
        target = nodes.Name(self.stream.expect("name").value, "store", lineno=lineno)
        self.stream.expect("name:in")
        source = self.parse_expression()
        body = self.parse_statements(("name:endfor", "name:else"))
        else_ = [] if next(self.stream).value == "endfor" else self.parse_statements(("name:endfor",), True)
        # the list is evaluated once, into a name no template can spell; Pebble renders nothing at
        # all, not even the else body, when the list is null
        held = self.free_identifier(lineno)
        loop = nodes.For(target, self._op("iterable", held), body, else_, None, False, lineno=lineno)
        return [
            nodes.Assign(held, source, lineno=lineno),
            nodes.If(self._op("not_null", held), [loop], [], [], lineno=lineno),
        ]

    def parse_set(self) -> nodes.Assign:
        lineno = next(self.stream).lineno
        target = nodes.Name(self.stream.expect("name").value, "store", lineno=lineno)
        self.stream.expect("assign")
        return nodes.Assign(target, self.parse_expression(), lineno=lineno)

    # ------------------------------------------------------------------ expressions

    def parse_tuple(self, *args: Any, **kwargs: Any) -> nodes.Expr:
        return self.parse_expression()

    def parse_expression(self, with_condexpr: bool = True) -> nodes.Expr:
        node = self._binary(0)
        if self.stream.current.test("op:?"):
            lineno = next(self.stream).lineno
            then = self.parse_expression()
            self.stream.expect("colon")
            node = nodes.CondExpr(self._truth(node), then, self.parse_expression(), lineno=lineno)
        return node

    def _binary(self, minimum: int) -> nodes.Expr:
        token = self.stream.current
        node: nodes.Expr
        if token.test("name:not"):
            next(self.stream)
            node = nodes.Not(self._truth(self._binary(_UNARY_PRECEDENCE)), lineno=token.lineno)
        elif token.type in ("sub", "add"):
            next(self.stream)
            node = self._op(f"unary_{token.type}", self._binary(_UNARY_PRECEDENCE))
        else:
            node = self._operand()
        while True:
            token = self.stream.current
            key = token.type if token.type != "name" else f"name:{token.value}"
            if key == "name:in":
                self.fail("Pebble has no 'in' operator: write `list contains item`", token.lineno)
            operator = _BINARY.get(key)
            if operator is None or operator[0] < minimum:
                return node
            precedence, kind = operator
            next(self.stream)
            if kind == "filter":
                node = self._filter(node)
            elif kind == "is":
                node = self._test(node)
            else:
                node = self._combine(kind, node, self._binary(precedence + 1), token.lineno)

    def _combine(self, kind: str, left: nodes.Expr, right: nodes.Expr, lineno: int) -> nodes.Expr:
        if kind == "and":
            return nodes.And(self._truth(left), self._truth(right), lineno=lineno)
        if kind == "or":
            return nodes.Or(self._truth(left), self._truth(right), lineno=lineno)
        if kind in ("coalesce", "undefined_coalesce"):
            either = nodes.Or(self._op(kind, left), self._op("box", right), lineno=lineno)
            return self._op("unwrap", either)
        return self._op(kind, left, right)

    def _operand(self) -> nodes.Expr:
        token = self.stream.current
        node: nodes.Expr
        if token.type == "name" and token.value in _LITERALS:
            next(self.stream)
            node = nodes.Const(_LITERALS[token.value], lineno=token.lineno)
        elif token.type == "name" and token.value in _NULLS:
            next(self.stream)
            node = nodes.Const(None, lineno=token.lineno)
        elif token.type == "name" and self.stream.look().type == "lparen":
            next(self.stream)
            args, kwargs = self._arguments(f"{token.value}()")
            name = nodes.Const(token.value, lineno=token.lineno)
            node = nodes.Filter(name, CALL, args, kwargs, None, None, lineno=token.lineno)
        elif token.type == "lparen":
            next(self.stream)
            node = self.parse_expression()
            self.stream.expect("rparen")
        elif token.test("name:self"):  # Jinja would hand out its template object: a plain variable here
            next(self.stream)
            node = self._op("variable", nodes.ContextReference(), nodes.Const(token.value))
        else:
            node = self.parse_primary()
        return self._postfix(node)

    def _postfix(self, node: nodes.Expr) -> nodes.Expr:
        """``.name`` and ``[key]`` steps, as ``op:get(node, key, shown path)`` for error messages."""
        while True:
            token = self.stream.current
            key: nodes.Expr
            if token.type == "dot":
                next(self.stream)
                name = self.stream.expect("name").value
                key, shown = nodes.Const(name, lineno=token.lineno), f"{_shown(node)}.{name}"
            elif token.type == "lbracket":
                next(self.stream)
                key = self.parse_expression()
                self.stream.expect("rbracket")
                shown = f"{_shown(node)}[{_shown(key)}]"
            elif token.type == "lparen":
                self.fail(
                    "calling a method is not supported: only Kestra's functions can be called", token.lineno
                )
            else:
                return node
            args: list[nodes.Expr] = [key, nodes.Const(shown)]
            node = nodes.Filter(node, "op:get", args, [], None, None, lineno=token.lineno)

    def _filter(self, node: nodes.Expr) -> nodes.Expr:
        token = self.stream.expect("name")
        args: list[nodes.Expr] = []
        kwargs: list[nodes.Keyword] = []
        if self.stream.current.type == "lparen":
            args, kwargs = self._arguments(f"the filter {token.value}")
        return nodes.Filter(node, token.value, args, kwargs, None, None, lineno=token.lineno)

    def _test(self, node: nodes.Expr) -> nodes.Expr:
        negated = self.stream.skip_if("name:not")
        token = self.stream.expect("name")
        args: list[nodes.Expr] = []
        kwargs: list[nodes.Keyword] = []
        if self.stream.current.type == "lparen":
            args, kwargs = self._arguments(f"the test {token.value}")
        test: nodes.Expr = nodes.Test(node, token.value, args, kwargs, None, None, lineno=token.lineno)
        return nodes.Not(test, lineno=token.lineno) if negated else test

    def _arguments(self, what: str) -> tuple[list[nodes.Expr], list[nodes.Keyword]]:
        """A call's ``(positional, name=value)`` arguments; unpacking (``*x``, ``**x``) is refused."""
        lineno = self.stream.current.lineno
        args, kwargs, splat, double_splat = self.parse_call_args()
        if splat is not None or double_splat is not None:
            self.fail(f"{what}: unpacked arguments (*x, **x) are not supported", lineno)
        return args, kwargs

    def _truth(self, node: nodes.Expr) -> nodes.Expr:
        return self._op("bool", node)

    @staticmethod
    def _op(name: str, *operands: nodes.Expr) -> nodes.Expr:
        first, *rest = operands
        return nodes.Filter(first, f"op:{name}", list(rest), [], None, None, lineno=first.lineno)


def _shown(node: nodes.Expr) -> str:
    """How a path expression is named in messages: ``outputs['my-task'].state``."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Filter) and node.name == "op:get":
        return str(node.args[1].as_const())
    if isinstance(node, nodes.Const):
        return repr(node.value)
    return "..."
