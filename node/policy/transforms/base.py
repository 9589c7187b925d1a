"""The transformation contract and the column conversions every family shares.

A transformation is a ``FileModel`` whose fields are its policy-file parameters (``type`` names
it), so the policy file's validation, its reference page and the object the engine applies are
one class; the registry of every transformation is ``node.policy.transforms.registry``.
``apply`` works on a whole column at once (pyarrow compute
for strings, NumPy for numbers and dates): a node masks millions of values per release, and a
per-value Python loop would be the bottleneck. Nulls stay null under every transformation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from node.policy.exceptions import TransformError
from node.validation import FileModel


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


class Transform(FileModel, ABC):
    """A policy transformation: its parameters as a frozen model, and how it rewrites a column.

    Constraints every implementation keeps:

    - ``type`` is a ``Literal`` of the name policy files use, defaulting to it.
    - ``apply`` MUST return a Series of the same length and index as ``column``, or ``None``
      when the column must not leave at all.
    - A null input value MUST give a null output value.
    - ``apply`` MUST NOT log or raise with any value of the column.
    """

    type: str

    @property
    def name(self) -> str:
        """The name policy files use (``mask``)."""
        return self.type

    @abstractmethod
    def apply(self, column: pd.Series, ctx: TransformContext) -> pd.Series | None:
        """Transform ``column``; ``None`` means the column is dropped."""

    def params(self) -> dict[str, Any]:
        """The parameters as written in the policy file (for previews and decisions)."""
        return {
            key: getattr(self, key)
            for key, spec in self.__class__.model_fields.items()
            if key != "type" and getattr(self, key) != spec.default
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
