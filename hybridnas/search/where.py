"""`--where` filters: a small grammar of comparisons over a run's columns, evaluated without `eval`.

    expr    := or
    or      := and (('or' | '|') and)*
    and     := not (('and' | '&') not)*
    not     := ('not' | '~') not | compare | '(' expr ')'
    compare := operand OP operand          OP: < <= > >= == !=
    operand := NUMBER | 'string' | "string" | column | `any column name`

Numbers may carry a K/M/G suffix (`macs < 50M`). A comparison with a missing value is false. Nothing
in the text is ever executed: it is tokenised, parsed into a tree of comparisons, and applied to columns.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Callable, Union

import numpy as np
import pandas as pd

from ..errors import HybridNASError

MAX_LENGTH = 2000
MAX_DEPTH = 40
SUFFIXES = {"": 1.0, "K": 1e3, "M": 1e6, "G": 1e9}
COMPARISONS: dict[str, Callable] = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
                                    "==": operator.eq, "!=": operator.ne}
GRAMMAR_HELP = ("write comparisons such as 'macs < 50M and naswot > 1000', joined by and/or/not and "
                "parentheses; quote names with symbols in backticks (`ensemble:naswot+zico` > -2) and text "
                "in quotes (status == 'ok')")
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?[KMG]?(?![A-Za-z0-9_])|\.[0-9]+(?:[eE][+-]?[0-9]+)?[KMG]?(?![A-Za-z0-9_]))
  | (?P<op><=|>=|==|!=|<|>)
  | (?P<paren>[()])
  | (?P<bool>[&|~])
  | (?P<minus>-)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<quoted>`[^`]*`)
  | (?P<string>'[^']*'|"[^"]*")
""", re.VERBOSE)


class WhereError(HybridNASError, ValueError):
    """A `--where` expression that cannot be parsed or applied."""


@dataclass(frozen=True)
class Column:
    """A column of the results table, by name."""

    name: str


@dataclass(frozen=True)
class Literal:
    """A number or a quoted string in a filter."""

    value: Union[float, str]


@dataclass(frozen=True)
class Compare:
    """A comparison (`op` one of COMPARISONS) of two operands."""

    op: str
    left: Union[Column, Literal]
    right: Union[Column, Literal]


@dataclass(frozen=True)
class Logical:
    """`and`/`or` of several parts, or `not` of one."""

    op: str  # 'and', 'or', 'not'
    parts: tuple


def tokenize(text: str) -> list[tuple[str, str]]:
    """(kind, text) tokens; raises WhereError at the first character that starts no token."""
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise WhereError(f"--where {text!r}: unexpected {text[pos]!r} at position {pos}; {GRAMMAR_HELP}")
        kind = match.lastgroup
        if kind != "space":
            value = match.group()
            if kind == "name" and value in ("and", "or", "not"):
                kind = "bool"
            tokens.append((kind, value))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0

    def error(self, what: str) -> WhereError:
        return WhereError(f"--where {self.text!r}: {what}; {GRAMMAR_HELP}")

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise self.error("the expression ends too early")
        self.pos += 1
        return token

    def parse(self):
        if not self.tokens:
            raise self.error("the expression is empty")
        tree = self.disjunction(0)
        if self.peek() is not None:
            raise self.error(f"unexpected {self.peek()[1]!r}")
        return tree

    def _depth(self, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise self.error(f"more than {MAX_DEPTH} levels of nesting")
        return depth + 1

    def disjunction(self, depth: int):
        return self._joined(depth, (("bool", "or"), ("bool", "|")), "or", self.conjunction)

    def conjunction(self, depth: int):
        return self._joined(depth, (("bool", "and"), ("bool", "&")), "and", self.negation)

    def _joined(self, depth: int, words: tuple, op: str, operand: Callable):
        """operand (word operand)*: one operand as it is, several as a Logical node."""
        parts = [operand(self._depth(depth))]
        while self.peek() in words:
            self.take()
            parts.append(operand(depth + 1))
        return parts[0] if len(parts) == 1 else Logical(op, tuple(parts))

    def negation(self, depth: int):
        token = self.peek()
        if token in (("bool", "not"), ("bool", "~")):
            self.take()
            return Logical("not", (self.negation(self._depth(depth)),))
        if token == ("paren", "("):
            self.take()
            inner = self.disjunction(self._depth(depth))
            if self.peek() != ("paren", ")"):
                raise self.error("a '(' is not closed")
            self.take()
            return inner
        return self.comparison()

    def comparison(self) -> Compare:
        left = self.operand()
        kind, op = self.take()
        if kind != "op":
            raise self.error(f"expected a comparison (< <= > >= == !=) after {self.text_of(left)}, got {op!r}")
        return Compare(op, left, self.operand())

    def operand(self) -> Union[Column, Literal]:
        kind, value = self.take()
        negative = False
        if kind == "minus":
            negative = True
            kind, value = self.take()
            if kind != "number":
                raise self.error(f"'-' must come before a number, not {value!r}")
        if kind == "number":
            suffix = value[-1] if value[-1] in "KMG" else ""
            number = float(value[: len(value) - len(suffix)]) * SUFFIXES[suffix]
            return Literal(-number if negative else number)
        if kind == "name":
            return Column(value)
        if kind == "quoted":
            return Column(value[1:-1])
        if kind == "string":
            return Literal(value[1:-1])
        raise self.error(f"expected a column, number or quoted text, got {value!r}")

    @staticmethod
    def text_of(node: Union[Column, Literal]) -> str:
        return node.name if isinstance(node, Column) else repr(node.value)


def parse_where(text: str) -> Compare | Logical:
    """Parse a filter into a tree of Compare/Logical nodes; raises WhereError naming what is wrong."""
    if len(text) > MAX_LENGTH:
        raise WhereError(f"--where is {len(text)} characters long; at most {MAX_LENGTH} are allowed")
    return _Parser(text).parse()


def _values(node: Union[Column, Literal], frame: pd.DataFrame) -> pd.Series | float | str:
    if isinstance(node, Literal):
        return node.value
    if node.name not in frame.columns:
        raise WhereError(f"no column {node.name!r}; columns: {list(frame.columns)}")
    column = frame[node.name]
    numeric = pd.to_numeric(column, errors="coerce")
    # a column of numbers compares as numbers (NaN where a value is missing); any other as text
    return numeric if numeric.notna().sum() >= column.notna().sum() else column.astype("string")


def _apply(node, frame: pd.DataFrame) -> pd.Series:
    if isinstance(node, Logical):
        masks = [_apply(part, frame) for part in node.parts]
        if node.op == "not":
            return ~masks[0]
        combine = np.logical_and if node.op == "and" else np.logical_or
        result = masks[0]
        for mask in masks[1:]:
            result = combine(result, mask)
        return result
    left, right = _values(node.left, frame), _values(node.right, frame)
    texts = [isinstance(v, str) or (isinstance(v, pd.Series) and v.dtype == "string") for v in (left, right)]
    if texts[0] != texts[1]:
        raise WhereError(f"{_Parser.text_of(node.left)} {node.op} {_Parser.text_of(node.right)} compares "
                         "text with a number")
    if texts[0] and node.op not in ("==", "!="):
        raise WhereError(f"text can only be compared with == or !=, not {node.op}")
    result = COMPARISONS[node.op](left, right)
    if not isinstance(result, pd.Series):  # two literals
        result = pd.Series(bool(result), index=frame.index)
    return result.fillna(False).astype(bool)


def apply_where(frame: pd.DataFrame, text: str | None) -> pd.DataFrame:
    """The rows of `frame` that match filter `text` (all rows when it is empty)."""
    if not text:
        return frame
    tree = parse_where(text)
    try:
        mask = _apply(tree, frame)
    except WhereError as exc:
        raise WhereError(f"--where {text!r}: {exc}") from None
    return frame[mask.to_numpy()]
