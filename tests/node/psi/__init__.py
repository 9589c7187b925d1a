"""Tests of private set intersection (node.psi)."""
