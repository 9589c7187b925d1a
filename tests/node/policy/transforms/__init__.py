"""Tests of node.policy.transforms."""
