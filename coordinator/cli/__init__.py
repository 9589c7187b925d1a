"""Command-line entry points of the coordinator."""
