"""Entry point of the ``medgrade`` command; each subcommand lives in its own module.

No traceback reaches a user: a :class:`MedgradeError` is one line saying what to fix (exit 2);
anything unexpected is one line saying what failed and where the full log was written (exit 3).
"""

from __future__ import annotations

import sys

import click

from medgrade import __version__
from medgrade.errors import MedgradeError
from medgrade.logs import unexpected_error

__all__ = ["cli", "main"]


class _Group(click.Group):
    """Turns a :class:`MedgradeError` into one clear line on stderr and exit status 2."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except MedgradeError as e:
            click.echo(f"medgrade: error: {e}", err=True)
            sys.exit(2)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("medgrade: interrupted; graded submissions are kept and a rerun resumes", err=True)
            sys.exit(130)
        except Exception as e:
            command = " ".join(["medgrade", *([ctx.invoked_subcommand] if ctx.invoked_subcommand else [])])
            click.echo(unexpected_error(f"`{command}` failed unexpectedly", e), err=True)
            sys.exit(3)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="medgrade")
def cli() -> None:
    """Set, release and grade deep-learning assignments for medical imaging."""


def _register() -> None:
    from medgrade.cli.calibrate import calibrate
    from medgrade.cli.check import check
    from medgrade.cli.data import data
    from medgrade.cli.demo import demo
    from medgrade.cli.doctor import doctor
    from medgrade.cli.export import export
    from medgrade.cli.export_autograder import export_autograder
    from medgrade.cli.feedback import feedback
    from medgrade.cli.grade import grade
    from medgrade.cli.quickstart import quickstart
    from medgrade.cli.release import release
    from medgrade.cli.rubric import rubric
    from medgrade.cli.similarity import similarity
    from medgrade.cli.validate import validate

    for command in (quickstart, doctor, release, validate, calibrate, grade, demo, data, check, feedback, rubric,
                    similarity, export, export_autograder):
        cli.add_command(command)


_register()


def main() -> None:
    from medgrade.nbgrader_cli import put_tools_on_path

    put_tools_on_path()  # nbgrader runs `alembic` from PATH; an unactivated virtualenv has it only here
    cli()


if __name__ == "__main__":
    main()
