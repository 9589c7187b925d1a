"""Date truncation and per-entity date shift.

Dates are handled as integer days since 1970-01-01 in NumPy; a value that does not parse as a
date becomes null instead of passing through. A string column comes back as ISO strings, a
datetime column as datetimes.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Final, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from node.policy.exceptions import TransformError
from node.policy.transforms.base import Transform, TransformContext, to_arrow_str
from node.policy.transforms.basic import distinct, hmac_sha256_many
from node.validation import OneOf

NAT: Final = np.iinfo(np.int64).min
_SHIFT_LABEL: Final = b"fedcredit/policy/date_shift/v1|"


def to_days(column: pd.Series) -> np.ndarray:
    """Days since the epoch as int64, ``NAT`` for null or unparseable values."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        parsed = column
    else:
        text = pd.Series(to_arrow_str(column), dtype="str")
        parsed = pd.to_datetime(text, errors="coerce", format="%Y-%m-%d")
        retry = parsed.isna() & text.notna()
        if bool(retry.any()):
            parsed[retry] = pd.to_datetime(text[retry], errors="coerce", format="ISO8601")
    days = parsed.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    return np.asarray(days)


def from_days(days: np.ndarray, column: pd.Series) -> pd.Series:
    """Days back in the column's own kind (ISO strings or datetimes); ``NAT`` becomes null."""
    as_date = days.astype("datetime64[D]")
    as_date[days == NAT] = np.datetime64("NaT")
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return pd.Series(as_date.astype("datetime64[ns]"), index=column.index, name=column.name)
    text = np.datetime_as_string(as_date, unit="D").astype(object)
    text[days == NAT] = None
    return pd.Series(text, index=column.index, name=column.name, dtype="str")


class DateTruncate(Transform):
    """Keep only the year, quarter or month: every date becomes the first day of its period."""

    type: Literal["date_truncate"] = "date_truncate"
    unit: Annotated[str, OneOf(("month", "quarter", "year"))] = Field(
        "month", description="The period every date is truncated to."
    )

    def apply(self, column: pd.Series, ctx: TransformContext) -> pd.Series | None:
        """Truncate every date to the start of its period."""
        days = to_days(column)
        missing = days == NAT
        dates = np.where(missing, 0, days).astype("datetime64[D]")
        months = dates.astype("datetime64[M]").astype(np.int64)
        if self.unit == "year":
            months = months - months % 12
        elif self.unit == "quarter":
            months = months - months % 3
        out = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
        return from_days(np.where(missing, NAT, out), column)


class DateShift(Transform):
    """Shift each entity's dates by the same secret offset of 1 to ``max_days`` days, either way.

    The offset is HMAC-SHA-256 of the entity's id (``entity_field``, by default the dataset's
    id column) under a key derived from the node key and the recipient, so intervals between
    one firm's dates survive (registration to first loan) while calendar dates do not. The
    offset is never zero, so no date leaves unchanged.
    """

    type: Literal["date_shift"] = "date_shift"
    max_days: int = Field(
        ge=1, le=3650, examples=[30], description="The largest shift, in days, either way."
    )
    entity_field: str | None = Field(
        None, description="The column keying the shift; the dataset's `id_field` by default."
    )

    def offsets(self, ctx: TransformContext) -> np.ndarray:
        """One offset per row of ``ctx.frame``, from its entity id."""
        entity = self.entity_field or ctx.entity_field
        if entity is None or entity not in ctx.frame.columns:
            raise TransformError(
                ctx.field,
                self.name,
                "the entity column is missing from the frame",
                "pass the dataset's id column in the frame, or set entity_field",
            )
        key = hmac.digest(ctx.node_key, _SHIFT_LABEL + ctx.recipient.encode(), "sha256")
        indices, uniques = distinct(ctx.frame[entity])
        words = hmac_sha256_many(key, uniques)[:, :8].copy().view(">u8").ravel()
        span = 2 * self.max_days
        raw = (words % np.uint64(span)).astype(np.int64)
        shift = np.where(raw < self.max_days, raw - self.max_days, raw - self.max_days + 1)
        idx = indices.to_numpy(zero_copy_only=False)
        per_row = np.zeros(len(idx), dtype=np.int64)
        present = ~np.isnan(idx) if idx.dtype.kind == "f" else np.ones(len(idx), bool)
        per_row[present] = shift[idx[present].astype(np.int64)]
        return per_row

    def apply(self, column: pd.Series, ctx: TransformContext) -> pd.Series | None:
        """Shift every date by its entity's offset; rows without an entity id become null."""
        days = to_days(column)
        entity = self.entity_field or ctx.entity_field
        offsets = self.offsets(ctx)
        has_entity = ctx.frame[entity].notna().to_numpy() if entity else np.ones(len(days), bool)
        missing = (days == NAT) | ~has_entity
        return from_days(np.where(missing, NAT, days + offsets), column)
