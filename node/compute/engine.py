"""Choosing where a node's bulk work runs: local worker processes (default) or Ray.

The node config's ``compute`` section selects the engine::

    compute:
      engine: local        # or: ray
      workers: 2           # local: worker processes; ray without address: CPUs of a local instance
      address: null        # ray: the cluster to join, e.g. "auto" or "ray://head:10001"

Both engines are ``concurrent.futures.Executor`` objects, so the callers (PSI, Paillier bulk
work, scoring) do not know which one they use.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Final

from node.compute.pool import worker_pool

ENGINES: Final = ("local", "ray")


class EngineUnavailable(RuntimeError):
    """The configured engine cannot be used here (its package is not installed)."""


@dataclass(frozen=True)
class ComputeConfig:
    """Where bulk work runs.

    Attributes
    ----------
    engine
        ``"local"``: a pool of worker processes on this machine (the default: nothing to set
        up). ``"ray"``: tasks on a Ray cluster.
    address
        Ray only: the cluster to join; ``None`` starts a local Ray instance with the node.
    workers
        Local: number of worker processes; Ray without ``address``: CPUs of the local
        instance. ``None``: one per available core.
    """

    engine: str = "local"
    address: str | None = None
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be a positive integer, got {self.workers}")
        if self.address is not None and self.engine != "ray":
            raise ValueError("address is a Ray setting; set engine: ray or remove it")


def compute_executor(config: ComputeConfig | None = None) -> Executor:
    """Start the configured engine and return its executor; the caller shuts it down.

    Raises
    ------
    EngineUnavailable
        ``engine`` is ``ray`` and the ``ray`` package is not installed.
    """
    config = config or ComputeConfig()
    if config.engine == "local":
        return worker_pool(config.workers)
    try:
        from node.compute.ray_engine import RayExecutor
    except ImportError:
        raise EngineUnavailable(
            "compute.engine is 'ray' but Ray is not installed; install the extra: "
            "pip install 'fedcredit[ray]'"
        ) from None
    return RayExecutor(config.address, config.workers)
