"""The gradebook: nbgrader's schema, written only by the grading coordinator."""
