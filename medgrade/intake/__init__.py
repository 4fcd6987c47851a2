"""Intake and sanitizing: what a submission is allowed to be before a kernel runs it.

- :mod:`.submission`: the files a submission must hold, and what makes one unreadable;
- :mod:`.cells`: what the assignment's notebooks ask for (tests, answers a person grades);
- :mod:`.prepare`: the notebook to run, with protected cells and grading metadata restored;
- :mod:`.scrub`: hidden test source, kept out of everything a student reads;
- :mod:`.integrity` and :mod:`.tampering`: the static scan of the cells the student wrote.
"""
