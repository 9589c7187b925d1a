"""Generalizations: numeric buckets, age bands, region prefix of an address code, top- and
bottom-coding.

Buckets and coding keep a numeric column numeric (``output: lower`` or ``midpoint``), so a
generalized feature can still feed a federated model; labels (``[10000, 20000)``, ``30-39``)
are for releases to people.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import pandas as pd
import pyarrow.compute as pc
from pydantic import BeforeValidator, Field, model_validator

from node.policy.transforms.base import (
    Transform,
    TransformContext,
    from_arrow_str,
    like_numeric,
    lstr,
    to_arrow_str,
    to_float,
)
from node.policy.transforms.dates import to_days
from node.validation import Invalid, OneOf, as_tuple


def _labels(values: np.ndarray, names: np.ndarray, column: pd.Series) -> pd.Series:
    """Label per row from bucket indices (``-1`` for null)."""
    out = np.empty(len(values), dtype=object)
    present = values >= 0
    out[present] = names[values[present]]
    out[~present] = None
    return pd.Series(out, index=column.index, name=column.name, dtype="str")


class Bucket(Transform):
    """Numeric buckets, of a fixed ``width`` from ``origin`` or between explicit ``edges``.

    With ``edges`` the values below the first edge fall in the first bucket and those above the
    last edge in the last one (so the outermost buckets also top- and bottom-code).
    ``output`` is ``lower`` (bucket's lower edge, numeric), ``midpoint`` (numeric) or
    ``label`` (text).
    """

    type: Literal["bucket"] = "bucket"
    width: float | None = Field(
        None, gt=0, examples=[50000], description="Bucket width (give this or `edges`)."
    )
    edges: Annotated[tuple[float, ...], BeforeValidator(as_tuple)] | None = Field(
        None, description="Explicit bucket edges, strictly increasing (or `width`)."
    )
    origin: float = Field(0.0, description="Where the `width` buckets start.")
    output: Annotated[str, OneOf(("lower", "midpoint", "label"))] = Field(
        "lower", description="Each value's bucket as its lower edge, midpoint or a text label."
    )

    @model_validator(mode="after")
    def _one_grid(self) -> Bucket:
        if (self.width is None) == (self.edges is None):
            raise Invalid("give exactly one of width or edges", "e.g. width: 50000", key="width")
        if self.edges is not None and (
            len(self.edges) < 2
            or any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False))
        ):
            raise Invalid(
                "needs at least two strictly increasing edges", "e.g. [0, 10000]", key="edges"
            )
        return self

    def apply(self, column: pd.Series, ctx: TransformContext) -> pd.Series | None:
        """Replace every value by its bucket."""
        x = to_float(column, ctx, self.name)
        if self.width is not None:
            lower = np.floor((x - self.origin) / self.width) * self.width + self.origin
            upper = lower + self.width
        else:
            edges = np.asarray(self.edges, dtype="float64")
            idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
            lower, upper = edges[idx], edges[idx + 1]
            lower = np.where(np.isnan(x), np.nan, lower)
            upper = np.where(np.isnan(x), np.nan, upper)
        if self.output == "lower":
            return like_numeric(lower, column)
        if self.output == "midpoint":
            return like_numeric((lower + upper) / 2, column)
        # label each distinct bucket once: a column has few buckets and many rows
        present = ~np.isnan(lower)
        uniques, codes = np.unique(lower[present], return_inverse=True)
        first_upper = np.empty_like(uniques)
        first_upper[codes] = upper[present]
        names = np.array(
            [f"[{a:g}, {b:g})" for a, b in zip(uniques, first_upper, strict=True)], dtype=object
        )
        idx = np.full(len(lower), -1, dtype=np.int64)
        idx[present] = codes
        return _labels(idx, names, column)


class AgeBand(Transform):
    """Age bands (``30-39``) from an age in years or from a date of birth.

    Dates are turned into ages at ``as_of`` (an ISO date), which is required for dates so
    that the same data always gives the same bands. Ages at or above ``top`` become ``top+``.
    """

    type: Literal["age_band"] = "age_band"
    width: int = Field(10, ge=1, le=50, description="Band width in years.")
    top: int = Field(80, description="Ages at or above this become one `top+` band.")
    as_of: str | None = Field(
        None,
        examples=["2025-01-01"],
        description="ISO date ages are computed at; required for dates of birth (quoted).",
    )

    @model_validator(mode="after")
    def _bands_fit(self) -> AgeBand:
        if self.top < self.width:
            raise Invalid("must be at least one band wide", f"e.g. {self.width * 8}", key="top")
        if self.as_of is not None:
            try:
                np.datetime64(self.as_of, "D")
            except ValueError:
                raise Invalid("must be an ISO date", "e.g. '2025-01-01'", key="as_of") from None
        return self

    def apply(self, column: pd.Series, ctx: TransformContext) -> pd.Series | None:
        """Replace every age (or date of birth) by its band label."""
        if pd.api.types.is_numeric_dtype(column.dtype):
            age = to_float(column, ctx, self.name)
        else:
            if self.as_of is None:
                from node.policy.exceptions import TransformError

                raise TransformError(
                    ctx.field, self.name, "dates need a reference date", "set as_of: YYYY-MM-DD"
                )
            days = to_days(column)
            ref = np.datetime64(self.as_of, "D").astype(np.int64)
            age = np.where(days == np.iinfo(np.int64).min, np.nan, (ref - days) / 365.2425)
        band = np.floor(np.clip(age, 0, self.top) / self.width).astype("float64")
        n_bands = int(np.ceil(self.top / self.width))
        names = np.array(
            [f"{i * self.width}-{min((i + 1) * self.width, self.top) - 1}" for i in range(n_bands)]
            + [f"{self.top}+"],
            dtype=object,
        )
        idx = np.where(np.isnan(band), -1, np.minimum(band, n_bands)).astype(np.int64)
        idx = np.where(age >= self.top, n_bands, idx)
        return _labels(idx, names, column)


class RegionPrefix(Transform):
    """Keep the province (2 digits) or city (4 digits) of a 6-digit division code, zero-padded.

    ``110105`` (Chaoyang district, Beijing) becomes ``110000`` at ``province`` level. A value
    that is not 6 digits becomes null rather than passing through.
    """

    type: Literal["region_prefix"] = "region_prefix"
    level: Annotated[str, OneOf(("province", "city"))] = Field(
        "province", description="Keep 2 (province) or 4 (city) digits."
    )

    def apply(self, column: pd.Series, ctx: TransformContext) -> pd.Series | None:
        """Generalize every code to its prefix."""
        arr = to_arrow_str(column)
        keep = 2 if self.level == "province" else 4
        valid = pc.fill_null(pc.match_substring_regex(arr, r"^\d{6}$"), False)
        prefix = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(arr, 0, keep), lstr("0" * (6 - keep)), lstr("")
        )
        out = pc.if_else(valid, prefix, lstr(None))
        return from_arrow_str(out, column)


class Clip(Transform):
    """Top- and bottom-coding: values beyond ``lower`` and ``upper`` become those bounds.

    The few extreme (and most identifying) values are hidden in the tails.
    """

    type: Literal["clip"] = "clip"
    lower: float | None = Field(None, description="Values below become this (bottom-coding).")
    upper: float | None = Field(
        None, examples=[1000000], description="Values above become this (top-coding)."
    )

    @model_validator(mode="after")
    def _some_bound(self) -> Clip:
        if self.lower is None and self.upper is None:
            raise Invalid("give lower, upper or both", "e.g. upper: 1000000", key="lower")
        if self.lower is not None and self.upper is not None and self.lower >= self.upper:
            raise Invalid("must be above lower", "swap them or widen the range", key="upper")
        return self

    def apply(self, column: pd.Series, ctx: TransformContext) -> pd.Series | None:
        """Clip every value into [lower, upper]."""
        x = to_float(column, ctx, self.name)
        return like_numeric(np.clip(x, self.lower, self.upper), column)
