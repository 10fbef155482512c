"""Pruning methods: one module each, looked up by name through `methods.registry`."""
