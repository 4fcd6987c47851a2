"""The judge: metric tests decided by the grader, against labels the kernel never reads.

- :mod:`.grader`: the grader's half (the specs read from the source, the judgement of records);
- :mod:`.planted`: reading a record from a folder the kernel could write, safely.

The kernel's half, which only records predictions, is :func:`medgrade.checks.evidence.judged`.
"""
