"""Federated scoring: holders' partial scores, the bank's decision engine and policies.

See docs/scoring.md.
"""
