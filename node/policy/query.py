"""Release filters: a small, safe subset of pandas query syntax, evaluated without ``eval``.

Accepted: comparisons of a field with a literal (``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``),
membership in a list of literals (``in``, ``not in``), and ``and``/``or``/``not`` with
parentheses. Example: ``tax_paid_12m >= 10000 and industry_code in ['C13', 'F51']``.
Anything else (attribute access, calls, ``@`` variables, arithmetic) is refused, because
``DataFrame.query`` would evaluate it with the node's privileges.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any, Final

import numpy as np
import pandas as pd

from node.policy.exceptions import ReleaseQueryError

_COMPARE: Final[dict[type[ast.cmpop], Callable[[Any, Any], Any]]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
MAX_FILTER_CHARS: Final = 2000


def _literal(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str | bool):
        return node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, int | float)
    ):
        return -node.operand.value
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal(e) for e in node.elts]
    raise ReleaseQueryError(
        f"unsupported expression {type(node).__name__}", "compare fields with literal values only"
    )


def _check(node: ast.expr, fields: set[str]) -> None:
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            _check(v, fields)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        _check(node.operand, fields)
    elif isinstance(node, ast.Compare):
        if len(node.ops) != 1 or not isinstance(node.left, ast.Name):
            raise ReleaseQueryError(
                "each comparison needs one field on the left and one literal on the right",
                "write field op literal, joined with and/or",
            )
        op = type(node.ops[0])
        if op not in _COMPARE and op not in (ast.In, ast.NotIn):
            raise ReleaseQueryError(f"operator {op.__name__} not allowed", "use == != < <= > >= in")
        value = _literal(node.comparators[0])
        if (op in (ast.In, ast.NotIn)) != isinstance(value, list):
            raise ReleaseQueryError(
                "in/not in need a list, others a single value", "fix the filter"
            )
        fields.add(node.left.id)
    else:
        raise ReleaseQueryError(
            f"unsupported expression {type(node).__name__}",
            "use comparisons joined with and/or/not",
        )


def parse_filter(text: str) -> tuple[ast.expr | None, tuple[str, ...]]:
    """Parse ``text``; returns the expression (``None`` for an empty filter) and its fields.

    Raises
    ------
    ReleaseQueryError
        The filter is too long, not valid syntax, or outside the accepted subset.
    """
    if not text.strip():
        return None, ()
    if len(text) > MAX_FILTER_CHARS:
        raise ReleaseQueryError(f"filter longer than {MAX_FILTER_CHARS} characters", "shorten it")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise ReleaseQueryError("not a valid expression", "see the accepted syntax") from None
    fields: set[str] = set()
    _check(tree, fields)
    return tree, tuple(sorted(fields))


def evaluate(tree: ast.expr | None, frame: pd.DataFrame) -> np.ndarray:
    """Boolean row mask of ``tree`` over ``frame`` (all rows for ``None``).

    A comparison with a null value is false (so ``not`` of it is true), as in pandas.
    """
    if tree is None:
        return np.ones(len(frame), dtype=bool)
    if isinstance(tree, ast.BoolOp):
        parts = [evaluate(v, frame) for v in tree.values]
        combine = np.logical_and if isinstance(tree.op, ast.And) else np.logical_or
        out = parts[0]
        for p in parts[1:]:
            out = combine(out, p)
        return out
    if isinstance(tree, ast.UnaryOp):
        return ~evaluate(tree.operand, frame)
    assert isinstance(tree, ast.Compare) and isinstance(tree.left, ast.Name)
    column = frame[tree.left.id]
    value = _literal(tree.comparators[0])
    op = type(tree.ops[0])
    try:
        if op is ast.In:
            result = column.isin(value)
        elif op is ast.NotIn:
            result = ~column.isin(value) & column.notna()
        else:
            result = _COMPARE[op](column, value)
    except TypeError:
        raise ReleaseQueryError(
            f"field {tree.left.id!r} cannot be compared with a {type(value).__name__}",
            "compare numbers with numbers and text with text",
        ) from None
    return np.asarray(pd.Series(result).fillna(False).to_numpy(dtype=bool))
