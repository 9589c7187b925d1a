"""Tests of the synthetic SME federation generator."""
