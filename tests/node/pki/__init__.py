"""Tests of node.pki."""
