"""Breach traceability and abnormal-access response on a node: release fingerprints,
``trace``, the access monitor, containment and incident reports (``docs/governance.md``)."""
