"""Parallel compute for heavy per-row crypto (worker processes on one machine)."""

from node.compute.pool import default_workers, worker_pool

__all__ = ["default_workers", "worker_pool"]
