"""Vectorized field transformations: keep, drop, hash, token, mask, generalize, dates, noise."""

from node.policy.transforms.base import Transform, TransformContext
from node.policy.transforms.registry import TRANSFORMS, AnyTransform, parse_transform

__all__ = ["TRANSFORMS", "AnyTransform", "Transform", "TransformContext", "parse_transform"]
