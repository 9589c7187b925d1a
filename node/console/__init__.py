"""The web console: pieces both processes share (mTLS server, page access, layout, charts) and
the node's own views. The coordinator's views live in ``coordinator.console``; each process
serves its console beside its gRPC server when its configuration has a ``console:`` section.
See docs/console.md."""
