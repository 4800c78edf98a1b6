"""Pebble's grammar on Jinja2's lexer and parser: the few places where the two languages differ.

Jinja2 and Pebble share the template structure (``{{ }}``, ``{% %}``, ``{# #}``, whitespace control
``{{- -}}``, ``{% raw %}``) and most of the expression grammar. This module adapts the rest:

* the lexer learns Pebble's extra operators ``??``, ``???``, ``?`` (ternary) and ``..`` (range);
* the expression parser is Pebble's precedence-climbing parser (its operator table and
  precedences, e.g. ``|`` binds looser than ``~`` and ``??``; unary ``not``/``-`` bind tightest),
  producing Jinja nodes. Operators whose semantics differ from Python's compile to calls of
  internal filters named ``op:<name>`` (a name no template can spell);
* only Kestra's tags are parsed: ``if``/``elseif``/``else``, ``for``/``else``, ``set``, ``filter``
  and ``raw``; ``include``, ``import``, ``extends``, ``macro``, ``block`` ... are refused;
* a function is called by its bare name (``now()``) through one dispatcher held by the environment
  (not a variable), so a variable can never shadow it and calling anything else (a method) is refused.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import nodes
from jinja2.lexer import TOKEN_BLOCK_BEGIN, TOKEN_OPERATOR, TOKEN_VARIABLE_BEGIN, Lexer, Token, TokenStream
from jinja2.parser import Parser

__all__ = ["CALL", "TAGS", "PebbleLexer", "PebbleParser", "is_template"]

#: the environment attribute every function call goes through: ``pebble_call(name, *args, **kwargs)``
CALL = "pebble_call"
#: the tags Kestra's Pebble keeps (``raw`` is handled by the lexer)
TAGS = ("if", "for", "set", "filter")

_PEBBLE_OPERATOR = "pebble_operator"
_EXTRA_OPERATORS = re.compile(r"\?\?\?|\?\?|\?|\.\.(?!\.)")

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


class PebbleLexer(Lexer):
    """Jinja's lexer plus Pebble's ``??``, ``???``, ``?`` and ``..`` operators; refuses string
    interpolation (``"#{...}"``), which Jinja would print literally."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        extra = type(self.rules[TOKEN_VARIABLE_BEGIN][0])(_EXTRA_OPERATORS, _PEBBLE_OPERATOR, None)
        for state in (TOKEN_BLOCK_BEGIN, TOKEN_VARIABLE_BEGIN):
            rules = list(self.rules[state])
            at = next(i for i, rule in enumerate(rules) if rule.tokens == TOKEN_OPERATOR)
            rules.insert(at, extra)
            self.rules[state] = rules

    def wrap(self, stream: Any, name: str | None = None, filename: str | None = None) -> Any:
        for token in super().wrap(self._checked(stream, name, filename), name, filename):
            if token.type == _PEBBLE_OPERATOR:
                yield Token(token.lineno, f"op:{token.value}", token.value)
            else:
                yield token

    def _checked(self, stream: Any, name: str | None, filename: str | None) -> Any:
        from jinja2.exceptions import TemplateSyntaxError

        for lineno, kind, value in stream:
            if kind == "string" and value.startswith('"') and "#{" in value:
                raise TemplateSyntaxError(
                    f"string interpolation {value} is not supported; concatenate with ~ instead",
                    lineno,
                    name,
                    filename,
                )
            yield lineno, kind, value


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

    def parse_for(self) -> nodes.If:  # type: ignore[override]
        lineno = self.stream.expect("name:for").lineno
        target = nodes.Name(self.stream.expect("name").value, "store", lineno=lineno)
        self.stream.expect("name:in")
        source = self.parse_expression()
        body = self.parse_statements(("name:endfor", "name:else"))
        else_ = [] if next(self.stream).value == "endfor" else self.parse_statements(("name:endfor",), True)
        loop = nodes.For(target, self._op("iterable", source), body, else_, None, False, lineno=lineno)
        # Pebble renders nothing at all, not even the else body, when the list is null
        return nodes.If(self._op("not_null", source), [loop], [], [], lineno=lineno)

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
            present = nodes.Test(left, f"op:{kind}", [], [], None, None, lineno=lineno)
            return nodes.CondExpr(present, left, right, lineno=lineno)
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
            args, kwargs, _, _ = self.parse_call_args()
            name = nodes.Const(token.value, lineno=token.lineno)
            dispatcher = nodes.EnvironmentAttribute(CALL, lineno=token.lineno)
            node = nodes.Call(dispatcher, [name, *args], kwargs, None, None, lineno=token.lineno)
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
            args, kwargs, _, _ = self.parse_call_args()
        return nodes.Filter(node, token.value, args, kwargs, None, None, lineno=token.lineno)

    def _test(self, node: nodes.Expr) -> nodes.Expr:
        negated = self.stream.skip_if("name:not")
        token = self.stream.expect("name")
        args: list[nodes.Expr] = []
        kwargs: list[nodes.Keyword] = []
        if self.stream.current.type == "lparen":
            args, kwargs, _, _ = self.parse_call_args()
        test: nodes.Expr = nodes.Test(node, token.value, args, kwargs, None, None, lineno=token.lineno)
        return nodes.Not(test, lineno=token.lineno) if negated else test

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
