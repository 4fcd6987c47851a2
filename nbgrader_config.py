"""nbgrader settings for this course directory.

medgrade reads the same settings, so nbgrader's own commands (`nbgrader generate_assignment`,
`nbgrader autograde`, `nbgrader export`, formgrader) keep working on this tree.
"""

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "medgrade"
c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "gradebook/feedback"
c.CourseDirectory.db_url = "sqlite:///gradebook/gradebook.db"
# Mutants, alternative solutions, rubrics, notes and the feedback policy live beside the source
# notebook; they are not released (medgrade release refuses a release that holds them).
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "mutants", "alternatives", "rubric.yaml",
                            "*.md", "feedback.yaml"]

# Student-facing stubs.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Cells that train a model on the cpu profile finish well within this; a runaway loop does not.
c.Execute.timeout = 30
