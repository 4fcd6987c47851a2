"""Interoperability with other grading platforms: Gradescope autograders and Otter-Grader."""
