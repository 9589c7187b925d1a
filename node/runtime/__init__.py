"""The node process: configuration, coordinator connection, task execution, its own service."""
