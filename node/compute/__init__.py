"""Parallel compute for heavy per-row crypto: worker processes on one machine, or Ray."""

from node.compute.engine import ComputeConfig, EngineUnavailable, compute_executor
from node.compute.pool import default_workers, worker_pool

__all__ = [
    "ComputeConfig",
    "EngineUnavailable",
    "compute_executor",
    "default_workers",
    "worker_pool",
]
