"""Federated model training and evaluation roles (vertical and horizontal)."""
