"""``medgrade data``: generate, verify and describe the offline dataset stand-ins."""

from __future__ import annotations

import sys

import click

from medgrade import envvars
from medgrade.data import NAMES, generate_all, info, resolve_root, verify_all
from medgrade.data.root import default_root

_ROOT_HELP = f"data root (default: ${envvars.DATA}, else {default_root()})"


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


@click.group("data")
def data() -> None:
    """Offline stand-ins for the course datasets, in their real on-disk formats."""


@data.command("generate")
@click.option("--root", type=click.Path(file_okay=False), default=None, help=_ROOT_HELP)
@click.option("--dataset", "datasets", multiple=True, type=click.Choice(NAMES),
              help="dataset to generate (repeatable; default: all)")
@click.option("--seed", type=int, default=0, show_default=True, help="generator seed")
@click.option("--force", is_flag=True, help="regenerate even when up to date or not ours")
def generate(root: str | None, datasets: tuple[str, ...], seed: int, force: bool) -> None:
    """Write the stand-ins under the data root; skip those the manifest says are up to date."""
    where = resolve_root(root)
    click.echo(f"data root: {where}")
    for name in datasets or NAMES:
        (r,) = generate_all(where, [name], seed=seed, force=force)
        click.echo(f"{r.name}: {r.status}: {r.files} files, {_mib(r.bytes)} "
                   f"in {r.seconds:.1f} s -> {r.path}")


@data.command("verify")
@click.option("--root", type=click.Path(file_okay=False), default=None, help=_ROOT_HELP)
@click.option("--dataset", "datasets", multiple=True, type=click.Choice(NAMES),
              help="dataset to verify (repeatable; default: every generated one)")
def verify(root: str | None, datasets: tuple[str, ...]) -> None:
    """Check every file against the manifest's sha256; exit 1 naming each problem."""
    where = resolve_root(root)
    problems = verify_all(where, datasets or None)
    for p in problems:
        click.echo(p.message(), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) under {where}", err=True)
        sys.exit(1)
    click.echo(f"ok: {', '.join(datasets) if datasets else 'all generated datasets'} "
               f"match {where / 'manifest.json'}")


@data.command("info")
@click.option("--root", type=click.Path(file_okay=False), default=None, help=_ROOT_HELP)
def info_cmd(root: str | None) -> None:
    """What is under the data root: real or synthetic, files, size, path."""
    where = resolve_root(root)
    click.echo(f"data root: {where}")
    for row in info(where):
        extra = f" seed {row.seed}, generator v{row.version}" if row.kind == "synthetic" else ""
        click.echo(f"{row.name:<10} {row.kind:<23} {row.files:>6} files {_mib(row.bytes):>10}"
                   f"  {row.path}{extra}")
        click.echo(f"{'':<10} {row.title}; real: {row.real_source}")
