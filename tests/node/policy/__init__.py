"""Tests of node.policy."""
