"""The ``medgrade`` command: a thin click shell over library functions."""
