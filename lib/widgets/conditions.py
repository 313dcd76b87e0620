"""A small, safe expression language for widget style conditions: `status === 'succeeded'`.

Grammar (JavaScript-like precedence, no function calls, no attribute access beyond field paths):

    expression := and ('||' and)*
    and        := comparison ('&&' comparison)*
    comparison := unary (('===' | '!==' | '==' | '!=' | '>' | '<' | '>=' | '<=') unary)?
    unary      := '!' unary | primary
    primary    := string | number | 'true' | 'false' | 'null' | field | '(' expression ')'

The text is tokenised and parsed by hand into an immutable tree; nothing is ever handed to
eval, exec or compile. Comparisons follow `lib.widgets.comparison`: values compare only with
values of the same kind (number, string, boolean), `==` and `===` mean the same strict equality,
and `x == null` is true exactly when x is missing. Field paths follow `lib.widgets.field_paths`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from lib.widgets.comparison import as_kind, compare_series, compare_values, value_kind, value_kinds
from lib.widgets.field_paths import field_value, field_values

MAX_NESTING = 64
MAX_NUMBER_LENGTH = 40
COMPARISON_OPERATORS = ("===", "!==", "==", "!=", ">=", "<=", ">", "<")
_SYMBOLS = ("===", "!==", "==", "!=", ">=", "<=", "&&", "||", ">", "<", "!", "(", ")")
_KEYWORDS = {"true": True, "false": False, "null": None}
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t"}


class ConditionSyntaxError(ValueError):
    """A condition that cannot be parsed; `position` is the 1-based character where it failed."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at character {position}")
        self.position = position


@dataclass(frozen=True)
class _Token:
    kind: str
    """One of: symbol, string, number, name, literal, end."""
    value: Any
    position: int


@dataclass(frozen=True)
class Constant:
    value: str | int | float | bool | None


@dataclass(frozen=True)
class FieldRef:
    name: str


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class Comparison:
    operator: str
    """Normalised: one of == != > < >= <=."""
    left: Node
    right: Node


@dataclass(frozen=True)
class Logical:
    operator: str
    """'&&' or '||'."""
    operands: tuple[Node, ...]


Node = Constant | FieldRef | Not | Comparison | Logical


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
            continue
        symbol = next((s for s in _SYMBOLS if text.startswith(s, index)), None)
        if symbol is not None:
            tokens.append(_Token("symbol", symbol, index + 1))
            index += len(symbol)
        elif char in "'\"":
            value, index = _read_string(text, index)
            tokens.append(_Token("string", value, index))
        elif char.isascii() and (char.isdigit() or (char == "-" and _digit_at(text, index + 1))):
            start = index
            index = _skip_digits(text, index + 1)
            if index - start > MAX_NUMBER_LENGTH:
                raise ConditionSyntaxError("number too long", start + 1)
            if text.startswith(".", index) and _digit_at(text, index + 1):
                index = _skip_digits(text, index + 1)
                if index - start > MAX_NUMBER_LENGTH:
                    raise ConditionSyntaxError("number too long", start + 1)
                tokens.append(_Token("number", float(text[start:index]), start + 1))
            else:
                tokens.append(_Token("number", int(text[start:index]), start + 1))
        elif _name_start(char):
            start = index
            index = _read_name(text, index)
            name = text[start:index]
            kind = "literal" if name in _KEYWORDS else "name"
            tokens.append(_Token(kind, _KEYWORDS.get(name, name), start + 1))
        elif char in "=&|":
            hint = {"=": "'===' or '=='", "&": "'&&'", "|": "'||'"}[char]
            raise ConditionSyntaxError(f"unexpected {char!r}, did you mean {hint}?", index + 1)
        else:
            raise ConditionSyntaxError(f"unexpected character {char!r}", index + 1)
    tokens.append(_Token("end", None, len(text) + 1))
    return tokens


def _digit_at(text: str, index: int) -> bool:
    return index < len(text) and text[index].isascii() and text[index].isdigit()


def _skip_digits(text: str, index: int) -> int:
    while _digit_at(text, index):
        index += 1
    return index


def _name_start(char: str) -> bool:
    return char.isascii() and (char.isalpha() or char in "_$")


def _read_name(text: str, index: int) -> int:
    index += 1
    while index < len(text):
        char = text[index]
        if char.isascii() and (char.isalnum() or char in "_$"):
            index += 1
        elif char == "." and index + 1 < len(text) and _name_start(text[index + 1]):
            index += 2
        elif char == ".":
            raise ConditionSyntaxError("a field path needs a name after '.'", index + 2)
        else:
            break
    return index


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    parts: list[str] = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == quote:
            return "".join(parts), index + 1
        if char == "\\":
            escaped = text[index + 1] if index + 1 < len(text) else ""
            if escaped not in _ESCAPES:
                raise ConditionSyntaxError(f"unknown escape '\\{escaped}' in string", index + 1)
            parts.append(_ESCAPES[escaped])
            index += 2
            continue
        parts.append(char)
        index += 1
    raise ConditionSyntaxError(f"unterminated string starting with {quote}", start + 1)


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._index = 0
        self._depth = 0

    def parse(self) -> Node:
        node = self._or()
        token = self._peek()
        if token.kind != "end":
            raise ConditionSyntaxError(
                f"unexpected {_describe(token)}; expected '&&', '||', a comparison or the end",
                token.position,
            )
        return node

    def _peek(self) -> _Token:
        return self._tokens[self._index]

    def _accept(self, *symbols: str) -> _Token | None:
        token = self._peek()
        if token.kind == "symbol" and token.value in symbols:
            self._index += 1
            return token
        return None

    def _or(self) -> Node:
        operands = [self._and()]
        while self._accept("||"):
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else Logical("||", tuple(operands))

    def _and(self) -> Node:
        operands = [self._comparison()]
        while self._accept("&&"):
            operands.append(self._comparison())
        return operands[0] if len(operands) == 1 else Logical("&&", tuple(operands))

    def _comparison(self) -> Node:
        left = self._unary()
        token = self._accept(*COMPARISON_OPERATORS)
        if token is None:
            return left
        right = self._unary()
        chained = self._peek()
        if chained.kind == "symbol" and chained.value in COMPARISON_OPERATORS:
            raise ConditionSyntaxError(
                "comparisons cannot be chained; join them with '&&'", chained.position
            )
        return Comparison(token.value.replace("===", "==").replace("!==", "!="), left, right)

    def _unary(self) -> Node:
        token = self._accept("!")
        if token is None:
            return self._primary()
        self._descend(token)
        node = Not(self._unary())
        self._depth -= 1
        return node

    def _primary(self) -> Node:
        token = self._peek()
        if token.kind in ("string", "number", "literal"):
            self._index += 1
            return Constant(token.value)
        if token.kind == "name":
            self._index += 1
            return FieldRef(token.value)
        opening = self._accept("(")
        if opening is not None:
            self._descend(opening)
            node = self._or()
            self._depth -= 1
            if self._accept(")") is None:
                closing = self._peek()
                raise ConditionSyntaxError(
                    f"expected ')' to close the '(' at character {opening.position}, "
                    f"found {_describe(closing)}",
                    closing.position,
                )
            return node
        raise ConditionSyntaxError(
            f"expected a value, a field name or '(', found {_describe(token)}", token.position
        )

    def _descend(self, token: _Token) -> None:
        # Bounded so a hostile condition fails with a syntax error, not a RecursionError.
        self._depth += 1
        if self._depth > MAX_NESTING:
            raise ConditionSyntaxError(
                f"nested more than {MAX_NESTING} levels deep", token.position
            )


def _describe(token: _Token) -> str:
    if token.kind == "end":
        return "end of condition"
    if token.kind == "string":
        return f"string {token.value!r}"
    if token.kind == "literal":
        return {True: "'true'", False: "'false'", None: "'null'"}[token.value]
    return f"{token.value!r}"


@lru_cache(maxsize=1024)
def parse_condition(text: str) -> Condition:
    """Parse a condition, or raise ConditionSyntaxError saying what is wrong and where."""
    if not isinstance(text, str) or not text.strip():
        raise ConditionSyntaxError("empty condition", 1)
    return Condition(text=text, root=_Parser(_tokenize(text)).parse())


@dataclass(frozen=True)
class Condition:
    """A parsed condition; evaluate it on one row or on a whole DataFrame."""

    text: str
    root: Node
    fields: tuple[str, ...] = field(init=False)
    """Field names the condition reads, in order of first use."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple(dict.fromkeys(_field_names(self.root))))

    def evaluate_row(self, row: Mapping[str, Any]) -> bool:
        """True when the condition holds for this row (a missing field is a missing value)."""
        return _truthy(_row_value(self.root, row))

    def evaluate_frame(self, frame: pd.DataFrame) -> pd.Series:
        """Vectorised evaluate_row: a boolean Series aligned with `frame`'s index."""
        return _truthy_series(_frame_value(self.root, frame), frame.index)


def _field_names(node: Node) -> list[str]:
    if isinstance(node, FieldRef):
        return [node.name]
    if isinstance(node, Not):
        return _field_names(node.operand)
    if isinstance(node, Comparison):
        return _field_names(node.left) + _field_names(node.right)
    if isinstance(node, Logical):
        return [name for operand in node.operands for name in _field_names(operand)]
    return []


# --- one row -------------------------------------------------------------------------------


def _row_value(node: Node, row: Mapping[str, Any]) -> Any:
    if isinstance(node, Constant):
        return node.value
    if isinstance(node, FieldRef):
        return field_value(row, node.name)
    if isinstance(node, Not):
        return not _truthy(_row_value(node.operand, row))
    if isinstance(node, Comparison):
        left, right = _row_value(node.left, row), _row_value(node.right, row)
        return compare_values(left, node.operator, right)
    if node.operator == "&&":
        return all(_truthy(_row_value(operand, row)) for operand in node.operands)
    return any(_truthy(_row_value(operand, row)) for operand in node.operands)


def _truthy(value: Any) -> bool:
    kind = value_kind(value)
    if kind == "null":
        return False
    if kind in ("boolean", "number"):
        return bool(value)
    if kind == "string":
        return value != ""
    return True


# --- a whole frame --------------------------------------------------------------------------


def _frame_value(node: Node, frame: pd.DataFrame) -> pd.Series | Any:
    if isinstance(node, Constant):
        return node.value
    if isinstance(node, FieldRef):
        return field_values(frame, node.name)
    if isinstance(node, Not):
        return ~_truthy_series(_frame_value(node.operand, frame), frame.index)
    if isinstance(node, Comparison):
        left = _frame_value(node.left, frame)
        right = _frame_value(node.right, frame)
        if not isinstance(left, pd.Series):
            if not isinstance(right, pd.Series):
                return compare_values(left, node.operator, right)
            left = pd.Series([left] * len(frame), index=frame.index, dtype=object)
        return compare_series(left, node.operator, right)
    parts = [_truthy_series(_frame_value(operand, frame), frame.index) for operand in node.operands]
    combined = parts[0]
    for part in parts[1:]:
        combined = (combined & part) if node.operator == "&&" else (combined | part)
    return combined


def _truthy_series(values: pd.Series | Any, index: pd.Index) -> pd.Series:
    if not isinstance(values, pd.Series):
        return pd.Series(_truthy(values), index=index, dtype=bool)
    if values.dtype == bool:
        return values
    kinds = value_kinds(values)
    result = (kinds != "null") & (kinds != "boolean") & (kinds != "number") & (kinds != "string")
    for kind, falsy in (("boolean", False), ("number", 0), ("string", "")):
        mask = kinds == kind
        if mask.any():
            result[mask] = np.asarray(as_kind(values[mask], kind) != falsy, dtype=bool)
    return result.astype(bool)
