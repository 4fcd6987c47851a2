"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from medgrade.profiles import PROFILES

course_dir_option: Callable[[Any], Any] = click.option(
    "--course-dir",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="The nbgrader course directory (default: the current directory).",
)

unconfined_option: Callable[[Any], Any] = click.option(
    "--unconfined",
    is_flag=True,
    help="Where the kernel's sandbox cannot be built, run student code without it (every result says "
         "so). Without this flag such a machine refuses to grade.",
)

profile_option: Callable[[Any], Any] = click.option(
    "--profile",
    type=click.Choice(sorted(PROFILES)),
    default="cpu",
    show_default=True,
    help="Grading profile: device, time budgets and thresholds.",
)


slots_per_gpu_option: Callable[[Any], Any] = click.option(
    "--slots-per-gpu", type=click.IntRange(min=1), default=1, show_default=True,
    help="With a GPU profile: kernels sharing each GPU, each capped to its share of the GPU's memory.")
