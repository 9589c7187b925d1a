"""Command-line interfaces: the fedcredit command and its sub-commands."""
