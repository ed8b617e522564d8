"""Helpers of the entry points: config printing and validation, run records, logging."""
