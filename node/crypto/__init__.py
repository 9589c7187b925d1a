"""Cryptography shared by nodes and the coordinator: sealed envelopes and Paillier."""
