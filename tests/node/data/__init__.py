"""Tests of node.data: schemas, loading, validation."""
