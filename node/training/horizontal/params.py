"""Model parameters as Flower does it (a list of NumPy arrays) and as one flat vector."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from node.training.horizontal.exceptions import TrainerError

Parameters = list[NDArray[np.float32]]
"""Flower's ``NDArrays``: one array per model tensor, in ``state_dict`` order."""


def shapes_of(params: Sequence[NDArray[np.generic]]) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(d) for d in p.shape) for p in params)


def flatten(params: Sequence[NDArray[np.generic]]) -> NDArray[np.float64]:
    """Concatenate all tensors into one float64 vector (the unit that is packed and summed)."""
    if not params:
        return np.zeros(0, dtype=np.float64)
    return np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in params])


def unflatten(
    vector: NDArray[np.floating], shapes: Sequence[tuple[int, ...]], dtype: type = np.float32
) -> Parameters:
    """Split a flat vector back into tensors of ``shapes``.

    Raises
    ------
    TrainerError
        The vector length does not match the shapes (a model of another architecture).
    """
    sizes = [int(np.prod(s)) for s in shapes]
    if sum(sizes) != vector.size:
        raise TrainerError(
            f"parameter vector has {vector.size} values but the model expects {sum(sizes)}; "
            "all banks must train the same architecture"
        )
    out: Parameters = []
    start = 0
    for shape, size in zip(shapes, sizes, strict=True):
        out.append(np.asarray(vector[start : start + size], dtype=dtype).reshape(shape))
        start += size
    return out
