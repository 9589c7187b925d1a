"""The coordinator's gRPC edge: thin servicers over the relay, job runner and store."""
