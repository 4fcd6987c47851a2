"""Grading a class: discovery, per-student sanity checks, the grading backend, results."""
