"""Additive noise with a stated scale (Laplace or Gaussian).

This is perturbation, not differential privacy: the same value released twice gets two
independent draws, and averaging them narrows the noise. Use it for releases where a rough
figure is enough, and say the scale in the policy so a recipient knows the error bars.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from node.policy.transforms.base import (
    Transform,
    TransformContext,
    like_numeric,
    to_float,
)
from node.validation import OneOf


class Noise(Transform):
    """Add Laplace or Gaussian noise of a stated ``scale``, then optionally round the result.

    ``scale`` is Laplace's ``b`` or the Gaussian's ``sigma``; ``round_to`` rounds to a multiple.
    """

    type: Literal["noise"] = "noise"
    scale: float = Field(gt=0, examples=[1000], description="Laplace `b` or Gaussian `sigma`.")
    distribution: Annotated[str, OneOf(("laplace", "gaussian"))] = Field(
        "laplace", description="The noise's distribution."
    )
    round_to: float | None = Field(
        None, gt=0, description="Round the noisy value to a multiple of this."
    )

    def apply(self, column: pd.Series, ctx: TransformContext) -> pd.Series | None:
        """Add one independent draw to every non-null value."""
        x = to_float(column, ctx, self.name)
        if self.distribution == "laplace":
            noisy = x + ctx.rng.laplace(0.0, self.scale, size=x.shape)
        else:
            noisy = x + ctx.rng.normal(0.0, self.scale, size=x.shape)
        if self.round_to is not None:
            noisy = np.round(noisy / self.round_to) * self.round_to
        return like_numeric(noisy, column)
