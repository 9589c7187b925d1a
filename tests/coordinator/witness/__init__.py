"""Tests of the checkpoint witness (coordinator/witness)."""
