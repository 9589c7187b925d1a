"""Every transformation a policy file may name, and building one from its name and parameters.

``AnyTransform`` is the ``transform:`` of a rule: a union of the transformation models told
apart by ``type``, so validating a rule validates its parameters against the right model. A
new transformation is a ``Transform`` subclass added to this union.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Annotated, Any, Final

from pydantic import Field

from node.policy.exceptions import TransformSpecError
from node.policy.transforms.base import Transform
from node.policy.transforms.basic import Drop, Hash, Keep, Token
from node.policy.transforms.dates import DateShift, DateTruncate
from node.policy.transforms.generalize import AgeBand, Bucket, Clip, RegionPrefix
from node.policy.transforms.mask import Mask
from node.policy.transforms.noise import Noise
from node.validation import validate

AnyTransform = Annotated[
    Keep
    | Drop
    | Hash
    | Token
    | Mask
    | Bucket
    | AgeBand
    | RegionPrefix
    | Clip
    | DateTruncate
    | DateShift
    | Noise,
    Field(discriminator="type"),
]

TRANSFORMS: Final[dict[str, type[Transform]]] = {
    cls.model_fields["type"].default: cls
    for cls in typing.get_args(typing.get_args(AnyTransform)[0])
}


def parse_transform(name: str, params: Mapping[str, Any]) -> Transform:
    """Build a transformation from its policy-file name and parameters.

    Raises
    ------
    TransformSpecError
        Unknown transformation, unknown or missing parameter, or a value out of range; its
        ``key`` names the parameter (``type`` for an unknown transformation).
    """
    cls = TRANSFORMS.get(name)
    if cls is None:
        raise TransformSpecError(
            "transform",
            f"{name!r} is not a known type",
            key="type",
            fix=f"use one of: {', '.join(TRANSFORMS)}",
        )
    return validate(cls, {**params, "type": name}, source=name, error=TransformSpecError)
