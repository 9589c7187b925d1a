"""Pre-flight diagnostics of a node (``fedcredit diagnose``), and the sealed echo that every
node and the coordinator answer outside any job so that round trips can be measured.
See docs/operations.md ("Diagnose a node")."""
