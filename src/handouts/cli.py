"""The ``handouts`` command: a thin shell over the library. Parses options, calls one library
function, shows results and maps errors to exit codes (0 ok, 1 failed, 2 usage)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from . import __version__

EXIT_FAILED = 1
EXIT_INTERNAL = 3


def _echo_problems(text: str) -> None:
    for line in text.splitlines():
        click.secho(f"error: {line}", fg="red", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "--version", prog_name="handouts", message="%(prog)s %(version)s"
)
def cli() -> None:
    """Build clinic-branded, printable PDF handouts from FAQ content."""


@cli.command()
@click.option(
    "-C",
    "--project-dir",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="The project folder (holds content/).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write files. Default: output/ in the project folder.",
)
@click.option(
    "--brand", "brands", multiple=True, metavar="ID", help="Build only this brand (repeatable)."
)
@click.option(
    "--handout",
    "handouts",
    multiple=True,
    metavar="ID",
    help="Build only this handout (repeatable).",
)
@click.option(
    "--layout",
    "layouts",
    multiple=True,
    metavar="NAME",
    help="Build only this layout (repeatable).",
)
@click.option(
    "--lang",
    "languages",
    multiple=True,
    metavar="CODE",
    help="Build only this language (repeatable).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["pdf", "html"]),
    default="pdf",
    show_default=True,
    help="html writes the intermediate HTML and its assets, to debug templates in a browser.",
)
@click.option(
    "-j",
    "--jobs",
    "workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes. Default: the number of CPUs.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
def build(
    project_dir: Path,
    out_dir: Path | None,
    brands: tuple[str, ...],
    handouts: tuple[str, ...],
    layouts: tuple[str, ...],
    languages: tuple[str, ...],
    fmt: str,
    workers: int | None,
    quiet: bool,
) -> None:
    """Build every handout for every brand (or the ones you name)."""
    from .build import Result
    from .build import build as run_build
    from .errors import HandoutsError
    from .plan import Filters, make_plan
    from .project import load_project

    try:
        project = load_project(project_dir)
        jobs = make_plan(project, Filters(brands, handouts, layouts, languages))
    except HandoutsError as exc:
        _echo_problems(str(exc))
        sys.exit(EXIT_FAILED)
    out = out_dir if out_dir is not None else project.root / "output"

    def show(result: Result) -> None:
        if not result.ok:
            click.secho(f"FAILED {result.label}", fg="red", err=True)
            _echo_problems(result.error)
        elif not quiet:
            click.echo(
                f"built  {result.output}  ({result.pages} pages, "
                f"{result.bytes / 1024:.0f} KB, {result.seconds:.2f} s)"
            )
        if result.ok and not quiet:
            for warning in result.warnings:
                click.secho(f"  warning: {warning}", fg="yellow", err=True)

    report = run_build(jobs, out, fmt=fmt, workers=workers or os.cpu_count() or 1, on_result=show)
    built = len(report.results) - len(report.failed)
    if not quiet or report.failed:
        click.echo(
            f"{built} built, {len(report.failed)} failed in {report.seconds:.1f} s → {out}",
            err=bool(report.failed),
        )
    sys.exit(0 if report.ok else EXIT_FAILED)


def main(argv: list[str] | None = None) -> None:
    """Entry point; no traceback ever reaches the user."""
    try:
        cli.main(args=argv, prog_name="handouts", standalone_mode=True)
    except KeyboardInterrupt:
        click.secho("stopped.", fg="yellow", err=True)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # an unexpected failure is our bug, not the user's
        click.secho(f"internal error: {type(exc).__name__}: {exc}", fg="red", err=True)
        click.echo(
            "This is a bug in handouts. Please report it with the command you ran; "
            "set HANDOUTS_DEBUG=1 to see the details.",
            err=True,
        )
        if os.environ.get("HANDOUTS_DEBUG"):
            raise
        sys.exit(EXIT_INTERNAL)
