"""Job plumbing between a federated protocol and the process that runs it."""

from node.jobs.hooks import JobHooks, MemoryHooks

__all__ = ["JobHooks", "MemoryHooks"]
