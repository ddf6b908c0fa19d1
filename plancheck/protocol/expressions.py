"""The syntax of derived structures in protocol files.

A protocol may define a structure from others, for example the low-dose PTV
without the boost or a planning organ-at-risk volume::

    derived: PTV - PTV_boost          difference
    derived: Kidney_L + Kidney_R      union
    derived: PTV & Body               intersection
    derived: SpinalCord + 5mm         3-D expansion by 5 mm
    derived: PTV - 3mm                3-D contraction by 3 mm
    derived: Body - (PTV + 10mm)      parentheses group

Operands are protocol structure names (quote names holding spaces or
operator characters: ``"PTV-High" - PTV_boost``). Operators of one kind chain
left to right; mixing kinds, or a margin after a compound expression, needs
parentheses, so that no expression reads two ways. Margins are in mm, at
most :data:`MAX_MARGIN_MM`.

This module only parses and prints expressions; the geometry is computed by
:mod:`plancheck.geometry.derived` (``difference``, ``union``,
``intersection``, ``expand``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass

from plancheck.errors import ProtocolError

__all__ = [
    "MAX_MARGIN_MM",
    "BooleanOp",
    "Combine",
    "DerivedSyntaxError",
    "Expr",
    "Margin",
    "RoiName",
    "format_expr",
    "operand_names",
    "parse_derived",
    "substitute",
]

MAX_MARGIN_MM = 50.0


class BooleanOp(str, enum.Enum):
    UNION = "+"
    DIFFERENCE = "-"
    INTERSECTION = "&"


@dataclass(frozen=True)
class RoiName:
    """An operand: a protocol structure name (or, once resolved, an ROI name)."""

    name: str


@dataclass(frozen=True)
class Margin:
    """``operand`` grown (positive) or shrunk (negative) by ``margin_mm`` in 3-D."""

    operand: Expr
    margin_mm: float


@dataclass(frozen=True)
class Combine:
    """A boolean combination of two volumes."""

    op: BooleanOp
    left: Expr
    right: Expr


Expr = RoiName | Margin | Combine


class DerivedSyntaxError(ProtocolError):
    """A ``derived:`` expression that cannot be parsed; ``position`` is 0-based."""

    def __init__(self, text: str, position: int, expected: str):
        self.text = text
        self.position = position
        self.expected = expected
        pointer = " " * position + "^"
        super().__init__(
            f"invalid derived structure {text!r} at character {position + 1}: {expected}\n"
            f"    {text}\n    {pointer}",
            hint="Derived structures look like 'PTV - PTV_boost', 'SpinalCord + 5mm', "
            "'Kidney_L + Kidney_R', 'Body - (PTV + 10mm)'.",
        )


_MARGIN_RE = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*mm(?![A-Za-z0-9_])")
_NAME_RE = re.compile(r'[^\s()+\-&"]+')
_QUOTED_RE = re.compile(r'"([^"]+)"')


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def fail(self, expected: str, pos: int | None = None) -> DerivedSyntaxError:
        return DerivedSyntaxError(self.text, self.pos if pos is None else pos, expected)

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def parse(self) -> Expr:
        expr, _ = self.expression()
        if self.peek():
            raise self.fail("an operator (+, -, &) or the end of the expression")
        return expr

    def expression(self) -> tuple[Expr, bool]:
        """Parse a chain; returns the expression and whether it is a bare operand."""
        left, simple = self.operand()
        chain_op: BooleanOp | None = None
        while self.peek() in ("+", "-", "&"):
            op_pos = self.pos
            op = BooleanOp(self.text[self.pos])
            self.pos += 1
            self.skip()
            margin = _MARGIN_RE.match(self.text, self.pos)
            if margin is not None and op is not BooleanOp.INTERSECTION:
                if not simple:
                    raise self.fail(
                        "a margin after a compound expression is ambiguous: "
                        "add parentheses, e.g. '(A - B) + 5mm' or 'A - (B + 5mm)'",
                        op_pos,
                    )
                value = float(margin.group(1))
                if not 0 < value <= MAX_MARGIN_MM:
                    raise self.fail(f"a margin greater than 0 and at most {MAX_MARGIN_MM:g} mm")
                self.pos = margin.end()
                left = Margin(left, value if op is BooleanOp.UNION else -value)
                simple = True
                continue
            if chain_op is not None and op is not chain_op:
                raise self.fail(
                    f"mixing '{chain_op.value}' and '{op.value}' is ambiguous: add parentheses",
                    op_pos,
                )
            right, _ = self.operand()
            left = Combine(op, left, right)
            chain_op = op
            simple = False
        return left, simple

    def operand(self) -> tuple[Expr, bool]:
        c = self.peek()
        if c == "(":
            self.pos += 1
            inner, _ = self.expression()
            if self.peek() != ")":
                raise self.fail("a closing parenthesis ')'")
            self.pos += 1
            return inner, True
        if c == '"':
            m = _QUOTED_RE.match(self.text, self.pos)
            if m is None:
                raise self.fail('a structure name and a closing quote (")')
            self.pos = m.end()
            return RoiName(m.group(1)), True
        if _MARGIN_RE.match(self.text, self.pos):
            raise self.fail(
                "a structure name (a margin follows '+' or '-', as in 'SpinalCord + 5mm')"
            )
        m = _NAME_RE.match(self.text, self.pos)
        if m is None:
            raise self.fail("a structure name or '('")
        self.pos = m.end()
        return RoiName(m.group(0)), True


def parse_derived(text: str) -> Expr:
    """Parse a derived-structure expression.

    Raises
    ------
    DerivedSyntaxError
        With the position of the first character that does not fit.
    """
    if not isinstance(text, str) or not text.strip():
        raise DerivedSyntaxError(str(text), 0, "an expression such as 'PTV - PTV_boost'")
    return _Parser(text).parse()


def operand_names(expr: Expr) -> tuple[str, ...]:
    """The structure names an expression reads, in order of first appearance."""
    out: list[str] = []

    def walk(e: Expr) -> None:
        if isinstance(e, RoiName):
            if e.name not in out:
                out.append(e.name)
        elif isinstance(e, Margin):
            walk(e.operand)
        else:
            walk(e.left)
            walk(e.right)

    walk(expr)
    return tuple(out)


def substitute(expr: Expr, replace: Callable[[str], Expr]) -> Expr:
    """The expression with every operand ``name`` replaced by ``replace(name)``."""
    if isinstance(expr, RoiName):
        return replace(expr.name)
    if isinstance(expr, Margin):
        return Margin(substitute(expr.operand, replace), expr.margin_mm)
    return Combine(expr.op, substitute(expr.left, replace), substitute(expr.right, replace))


def _format_name(name: str) -> str:
    return name if _NAME_RE.fullmatch(name) and not _MARGIN_RE.fullmatch(name) else f'"{name}"'


def format_expr(expr: Expr) -> str:
    """Canonical text of an expression (parses back to the same expression)."""
    if isinstance(expr, RoiName):
        return _format_name(expr.name)
    if isinstance(expr, Margin):
        inner = format_expr(expr.operand)
        if not isinstance(expr.operand, RoiName):
            inner = f"({inner})"
        sign = "+" if expr.margin_mm > 0 else "-"
        return f"{inner} {sign} {abs(expr.margin_mm):g}mm"
    left = format_expr(expr.left)
    if isinstance(expr.left, Margin) or (
        isinstance(expr.left, Combine) and expr.left.op is not expr.op
    ):
        left = f"({left})"
    right = format_expr(expr.right)
    if isinstance(expr.right, (Combine, Margin)):
        right = f"({right})"
    return f"{left} {expr.op.value} {right}"
