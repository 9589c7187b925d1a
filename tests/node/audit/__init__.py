"""Tests of the access log (node/audit)."""
