"""fedcredit coordinator: job and round orchestration, node registry, sealed-message relay."""
