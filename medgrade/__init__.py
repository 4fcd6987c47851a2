"""medgrade: autograded assignments for deep learning in medical imaging.

The package follows the assignment's data flow: ``author`` (source -> release), ``data``
(offline stand-ins), ``checks`` (what tests call), ``runner`` (one notebook in a kernel),
``grading`` (a class), ``gradebook`` (records and exports), ``cli`` (the ``medgrade`` command).
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
