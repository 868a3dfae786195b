"""Collectors: one module per platform, found through the `tracker.collectors` entry points."""
