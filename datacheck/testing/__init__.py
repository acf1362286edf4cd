"""Helpers for unit-testing data loaders against a schema."""
