"""Tests for vertical federated logistic regression."""
