"""The transformation contract, the registry and the column conversions every family shares.

A transformation is a frozen dataclass whose fields are its policy-file parameters; parsing a
rule is checking the parameter names and types against the dataclass and letting
``__post_init__`` check the values. ``apply`` works on a whole column at once (pyarrow compute
for strings, NumPy for numbers and dates): a node masks millions of values per release, and a
per-value Python loop would be the bottleneck. Nulls stay null under every transformation.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final

import numpy as np
import pandas as pd
import pyarrow as pa

from node.policy.exceptions import TransformError, TransformSpecError


@dataclass
class TransformContext:
    """What a transformation may need beyond its column.

    Attributes
    ----------
    node_key
        The node's secret key (HMAC keys for hashes, tokens and date shifts derive from it).
    recipient
        The recipient organization; per-recipient tokens and shifts are keyed by it.
    frame
        The whole input frame, for transformations keyed by the entity column.
    entity_field
        The dataset's id column (the firm's unified social credit code).
    rng
        Randomness for noise; tests inject a seeded generator.
    field
        The column being transformed (for error messages).
    """

    node_key: bytes
    recipient: str
    frame: pd.DataFrame
    entity_field: str | None = None
    rng: np.random.Generator = field(default_factory=np.random.default_rng)
    field: str = ""


class Transform(ABC):
    """A policy transformation. Subclasses are frozen dataclasses registered by ``name``.

    Constraints every implementation keeps:

    - ``apply`` MUST return a Series of the same length and index as ``column``, or ``None``
      when the column must not leave at all.
    - A null input value MUST give a null output value.
    - ``apply`` MUST NOT log or raise with any value of the column.
    """

    name: ClassVar[str]

    @abstractmethod
    def apply(self, column: pd.Series, ctx: TransformContext) -> pd.Series | None:
        """Transform ``column``; ``None`` means the column is dropped."""

    def params(self) -> dict[str, Any]:
        """The parameters as written in the policy file (for previews and decisions)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if getattr(self, f.name) != f.default
        }

    def describe(self) -> str:
        """Short human form, e.g. ``mask(style=mobile)``."""

        def fmt(v: Any) -> str:
            if isinstance(v, float):
                return f"{v:g}"
            if isinstance(v, tuple):
                return "[" + ", ".join(fmt(x) for x in v) + "]"
            return str(v)

        args = ", ".join(f"{k}={fmt(v)}" for k, v in self.params().items())
        return f"{self.name}({args})" if args else self.name


TRANSFORMS: Final[dict[str, type[Transform]]] = {}


def register(cls: type[Transform]) -> type[Transform]:
    """Class decorator: make a transformation available to policy files under ``cls.name``."""
    TRANSFORMS[cls.name] = cls
    return cls


def _coerce(key: str, value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return None if value is None else _coerce(key, value, args[0])
    if origin is tuple:
        if not isinstance(value, list):
            raise TransformSpecError(key, "expected a list", f"write {key}: [a, b, ...]")
        (inner, _) = typing.get_args(hint)
        return tuple(_coerce(key, v, inner) for v in value)
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is bool and isinstance(value, bool):
        return value
    if hint is str and isinstance(value, str):
        return value
    raise TransformSpecError(
        key, f"expected {getattr(hint, '__name__', hint)}", f"give {key} a value of that type"
    )


def parse_transform(name: str, params: Mapping[str, Any]) -> Transform:
    """Build a transformation from its policy-file name and parameters.

    Raises
    ------
    TransformSpecError
        Unknown transformation, unknown or missing parameter, or a value out of range.
    """
    cls = TRANSFORMS.get(name)
    if cls is None:
        raise TransformSpecError(
            "type",
            f"unknown transformation {name!r}",
            f"use one of {', '.join(sorted(TRANSFORMS))}",
        )
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in params:
        if key not in known:
            allowed = ", ".join(sorted(known)) or "none"
            raise TransformSpecError(
                key, f"{name} has no parameter {key!r}", f"use one of: {allowed}"
            )
    for key, f in known.items():
        no_default = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if no_default and key not in params:
            raise TransformSpecError(key, f"{name} needs parameter {key!r}", f"add {key}: ...")
    kwargs = {k: _coerce(k, v, hints[k]) for k, v in params.items()}
    try:
        return cls(**kwargs)
    except ValueError as exc:
        key, _, problem = str(exc).partition(": ")
        raise TransformSpecError(
            key, problem, "see docs/policies.md for the allowed values"
        ) from exc


# -- column conversions shared by the families ---------------------------------------------


def to_arrow_str(column: pd.Series) -> pa.Array:
    """The column as an Arrow string array with nulls kept, without a Python loop when possible.

    Integral floats (a phone number column read with NaN) are written without ``.0``.
    """
    if pd.api.types.is_float_dtype(column.dtype):
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        finite = values[~np.isnan(values)]
        if finite.size and np.all(finite == np.round(finite)):
            column = column.astype("Int64")
    if not (pd.api.types.is_string_dtype(column.dtype) and column.dtype != object):
        column = column.astype("str")
    arr = pa.array(column.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.large_string())


def lstr(text: str | None) -> pa.Scalar:
    """A large-string scalar, the type every string kernel here works in."""
    return pa.scalar(text, pa.large_string())


def from_arrow_str(arr: pa.Array | pa.ChunkedArray, like: pd.Series) -> pd.Series:
    """An Arrow string result back as a pandas string column on ``like``'s index."""
    return pd.Series(arr, index=like.index, dtype="str", name=like.name)


def to_float(column: pd.Series, ctx: TransformContext, transform: str) -> np.ndarray:
    """The column as float64 with NaN for nulls.

    Raises
    ------
    TransformError
        The column holds non-numeric values (the message names the column, not the values).
    """
    if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_numeric_dtype(column.dtype):
        return np.asarray(column.to_numpy(dtype="float64", na_value=np.nan))
    converted = pd.to_numeric(column, errors="coerce")
    bad = converted.isna() & column.notna()
    if bool(bad.any()):
        raise TransformError(
            ctx.field,
            transform,
            f"{int(bad.sum())} values are not numbers",
            "use a string transformation (mask, hash, token) for this field or fix the data",
        )
    return np.asarray(converted.to_numpy(dtype="float64", na_value=np.nan))


def like_numeric(values: np.ndarray, column: pd.Series) -> pd.Series:
    """A float result as a column on ``column``'s index (nullable Float64, NaN as null)."""
    return pd.Series(values, index=column.index, name=column.name, dtype="float64")


def finite_positive(key: str, value: float | None) -> None:
    """Precondition helper for ``__post_init__``: ``value`` is a finite number above zero."""
    if value is not None and not (np.isfinite(value) and value > 0):
        raise ValueError(f"{key}: must be a finite number above zero")
