"""Bundled schemas, loaded by name with importlib.resources (`--schema cifar10`)."""
