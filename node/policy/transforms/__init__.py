"""Vectorized field transformations: keep, drop, hash, token, mask, generalize, dates, noise."""

from node.policy.transforms import basic, dates, generalize, mask, noise
from node.policy.transforms.base import TRANSFORMS, Transform, TransformContext, parse_transform

__all__ = [
    "TRANSFORMS",
    "Transform",
    "TransformContext",
    "basic",
    "dates",
    "generalize",
    "mask",
    "noise",
    "parse_transform",
]
