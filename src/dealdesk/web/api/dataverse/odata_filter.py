"""`$filter` expressions: a tokenizer and a recursive-descent parser for the part of OData 4.0's grammar (OData
ABNF, "boolCommonExpr") that dealdesk supports, as Dataverse's "Filter rows" page lists it
(learn.microsoft.com/power-apps/developer/data-platform/webapi/query/filter-rows):

    expr       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := unary ("and" unary)*
    unary      := "not" unary | primary
    primary    := "(" expr ")" | call | comparison
    call       := ("contains" | "startswith" | "endswith") "(" property "," string ")"
    comparison := operand ("eq" | "ne" | "gt" | "ge" | "lt" | "le") operand
    operand    := property | literal
    literal    := 'text' | integer | decimal | true | false | null | guid | date | datetimeoffset

Anything else — other functions, arithmetic, lambda operators, Dataverse's query functions — is a `FilterError`,
which the adapter answers with a 400. The parser knows no attribute names: the adapter resolves them (query.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Final
from uuid import UUID

MAX_LENGTH: Final = 4000
MAX_DEPTH: Final = 40


class FilterError(ValueError):
    """The expression is not one dealdesk understands; the message says where and why."""


@dataclass(frozen=True)
class Property:
    name: str


@dataclass(frozen=True)
class Literal:
    value: str | int | Decimal | bool | UUID | date | datetime | None
    edm: str
    """Its OData type, for messages: Edm.String, Edm.Int32, …, or null."""


@dataclass(frozen=True)
class Comparison:
    op: str
    prop: Property
    literal: Literal


@dataclass(frozen=True)
class Call:
    function: str
    prop: Property
    text: str


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


Node = Comparison | Call | And | Or | Not

COMPARISONS: Final = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
FLIPPED: Final = {"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}
FUNCTIONS: Final = frozenset({"contains", "startswith", "endswith"})


@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", ",", "string", "number", "guid", "date", "datetime", "word"
    text: str
    at: int


# Each pattern is matched at one position only (never over the whole expression).
_GUID: Final = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(?![\w-])")
_DATETIME: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})(?![\w:.+-])")
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}(?![\w:.-])")
_NUMBER: Final = re.compile(r"-?\d+(\.\d+)?(?![\w.])")
_WORD: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_./]*")


def tokens(text: str) -> list[_Token]:
    found: list[_Token] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char in " \t":
            position += 1
        elif char in "(),":
            found.append(_Token(char, char, position))
            position += 1
        elif char == "'":
            position = _string(text, position, found)
        else:
            for kind, pattern in (
                ("guid", _GUID),
                ("datetime", _DATETIME),
                ("date", _DATE),
                ("number", _NUMBER),
                ("word", _WORD),
            ):
                match = pattern.match(text, position)
                if match:
                    found.append(_Token(kind, match.group(0), position))
                    position = match.end()
                    break
            else:
                raise FilterError(f"Syntax error at position {position} in '{text}': unexpected '{char}'.")
    return found


def _string(text: str, start: int, found: list[_Token]) -> int:
    """A quoted string; a quote inside is written twice ('O''Brien')."""
    chars: list[str] = []
    position = start + 1
    while position < len(text):
        if text[position] == "'":
            if text.startswith("''", position):
                chars.append("'")
                position += 2
                continue
            found.append(_Token("string", "".join(chars), start))
            return position + 1
        chars.append(text[position])
        position += 1
    raise FilterError(f"Syntax error at position {start} in '{text}': unterminated string literal.")


def parse(text: str) -> Node:
    if len(text) > MAX_LENGTH:
        raise FilterError(f"The $filter expression is longer than {MAX_LENGTH} characters.")
    if not text.strip():
        raise FilterError("The $filter expression is empty.")
    parser = _Parser(text, tokens(text))
    node = parser.expression(0)
    if parser.position < len(parser.tokens):
        token = parser.tokens[parser.position]
        raise FilterError(f"Syntax error at position {token.at} in '{text}': unexpected '{token.text}'.")
    return node


class _Parser:
    def __init__(self, text: str, found: list[_Token]) -> None:
        self.text = text
        self.tokens = found
        self.position = 0

    # ------------------------------------------------------------------ helpers
    def _peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _next(self, what: str) -> _Token:
        token = self._peek()
        if token is None:
            raise FilterError(f"Syntax error in '{self.text}': expected {what} at the end of the expression.")
        self.position += 1
        return token

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token is not None and token.kind == "word" and token.text == word:
            self.position += 1
            return True
        return False

    def _expect(self, kind: str, what: str) -> _Token:
        token = self._next(what)
        if token.kind != kind:
            raise FilterError(f"Syntax error at position {token.at} in '{self.text}': expected {what}.")
        return token

    # ------------------------------------------------------------------ grammar
    def expression(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise FilterError(f"The $filter expression nests deeper than {MAX_DEPTH} levels.")
        node = self._and(depth)
        while self._keyword("or"):
            node = Or(node, self._and(depth))
        return node

    def _and(self, depth: int) -> Node:
        node = self._unary(depth)
        while self._keyword("and"):
            node = And(node, self._unary(depth))
        return node

    def _unary(self, depth: int) -> Node:
        if self._keyword("not"):
            if depth + 1 > MAX_DEPTH:
                raise FilterError(f"The $filter expression nests deeper than {MAX_DEPTH} levels.")
            return Not(self._unary(depth + 1))
        return self._primary(depth)

    def _primary(self, depth: int) -> Node:
        token = self._peek()
        if token is not None and token.kind == "(":
            self.position += 1
            node = self.expression(depth + 1)
            self._expect(")", "')'")
            return node
        if token is not None and token.kind == "word" and self._is_call():
            return self._call(token)
        return self._comparison()

    def _is_call(self) -> bool:
        following = self.tokens[self.position + 1] if self.position + 1 < len(self.tokens) else None
        return following is not None and following.kind == "("

    def _call(self, name: _Token) -> Call:
        if name.text not in FUNCTIONS:
            raise FilterError(
                f"The function '{name.text}' is not supported in $filter; use contains, startswith or endswith."
            )
        self.position += 2  # the name and "("
        prop = self._property()
        self._expect(",", "','")
        text = self._expect("string", "a string literal")
        self._expect(")", "')'")
        return Call(name.text, prop, text.text)

    def _property(self) -> Property:
        token = self._next("a property name")
        if token.kind != "word" or token.text in _RESERVED:
            raise FilterError(f"Syntax error at position {token.at} in '{self.text}': expected a property name.")
        return Property(token.text)

    def _comparison(self) -> Comparison:
        left = self._operand()
        operator = self._next("a comparison operator (eq, ne, gt, ge, lt, le)")
        if operator.kind != "word" or operator.text not in COMPARISONS:
            raise FilterError(
                f"Syntax error at position {operator.at} in '{self.text}': expected eq, ne, gt, ge, lt or le."
            )
        right = self._operand()
        if isinstance(left, Property) and isinstance(right, Literal):
            return Comparison(operator.text, left, right)
        if isinstance(left, Literal) and isinstance(right, Property):
            return Comparison(FLIPPED[operator.text], right, left)
        raise FilterError("A comparison must compare one property with one literal value.")

    def _operand(self) -> Property | Literal:
        token = self._next("a property or a value")
        if token.kind == "string":
            return Literal(token.text, "Edm.String")
        if token.kind == "guid":
            return Literal(UUID(token.text), "Edm.Guid")
        if token.kind == "date":
            try:
                return Literal(date.fromisoformat(token.text), "Edm.Date")
            except ValueError as exc:
                raise FilterError(f"'{token.text}' is not a valid date.") from exc
        if token.kind == "datetime":
            try:
                return Literal(datetime.fromisoformat(token.text.replace("Z", "+00:00")), "Edm.DateTimeOffset")
            except ValueError as exc:
                raise FilterError(f"'{token.text}' is not a valid date and time.") from exc
        if token.kind == "number":
            return _number(token.text)
        if token.kind == "word":
            if token.text in ("true", "false"):
                return Literal(token.text == "true", "Edm.Boolean")
            if token.text == "null":
                return Literal(None, "null")
            if token.text in _RESERVED:
                raise FilterError(f"Syntax error at position {token.at} in '{self.text}': unexpected '{token.text}'.")
            if self._peek() is not None and self._peek().kind == "(":  # type: ignore[union-attr]
                raise FilterError(f"The function '{token.text}' is not supported in $filter.")
            return Property(token.text)
        raise FilterError(f"Syntax error at position {token.at} in '{self.text}': unexpected '{token.text}'.")


_RESERVED: Final = frozenset({"and", "or", "not", *COMPARISONS, "add", "sub", "mul", "div", "mod", "has", "in"})


def _number(text: str) -> Literal:
    if "." in text:
        try:
            return Literal(Decimal(text), "Edm.Decimal")
        except InvalidOperation as exc:  # pragma: no cover - the pattern admits only digits
            raise FilterError(f"'{text}' is not a number.") from exc
    value = int(text)
    return Literal(value, "Edm.Int32" if -(2**31) <= value < 2**31 else "Edm.Int64")
