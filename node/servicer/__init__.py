"""The node's gRPC edge: capabilities, governed release, auditor access, administration."""
