"""Additive noise with a stated scale (Laplace or Gaussian).

This is perturbation, not differential privacy: the same value released twice gets two
independent draws, and averaging them narrows the noise. Use it for releases where a rough
figure is enough, and say the scale in the policy so a recipient knows the error bars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from node.policy.transforms.base import (
    Transform,
    TransformContext,
    finite_positive,
    like_numeric,
    register,
    to_float,
)


@register
@dataclass(frozen=True)
class Noise(Transform):
    """Add Laplace (``b = scale``) or Gaussian (``sigma = scale``) noise, then optionally round
    to a multiple of ``round_to``.
    """

    name: ClassVar[str] = "noise"
    scale: float
    distribution: str = "laplace"
    round_to: float | None = None

    def __post_init__(self) -> None:
        finite_positive("scale", self.scale)
        if self.distribution not in ("laplace", "gaussian"):
            raise ValueError("distribution: must be laplace or gaussian")
        finite_positive("round_to", self.round_to)

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
