"""The ``handouts`` command: a thin shell over the library. Parses options, calls one library
function, shows results and maps errors to exit codes (0 ok, 1 failed, 2 usage, 3 a bug of
ours, 130 stopped by Ctrl-C)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from . import __version__

EXIT_FAILED = 1
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


def _echo_problems(text: str, prefix: str = "error: ") -> None:
    for line in text.splitlines():
        click.secho(f"{prefix}{line}", fg="red", err=True)


_PROJECT_OPTION = click.option(
    "-C",
    "--project-dir",
    "project_dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The project folder (holds content/).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "--version", prog_name="handouts", message="%(prog)s %(version)s"
)
def cli() -> None:
    """Build clinic-branded, printable PDF handouts from FAQ content."""


@cli.command()
@_PROJECT_OPTION
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
    help="Worker processes. Default: the number of CPUs. 1 renders in-process.",
)
@click.option(
    "--print-ready",
    is_flag=True,
    help="Also build print-shop PDFs (.print.pdf) with 3 mm bleed and crop marks.",
)
@click.option("--force", is_flag=True, help="Rebuild everything, even what is up to date.")
@click.option("--dry-run", is_flag=True, help="Show what would be built and why; build nothing.")
@click.option(
    "--prune",
    is_flag=True,
    help="Remove outputs whose brand, handout, language or layout no longer exists.",
)
@click.option("--strict", is_flag=True, help="Count warnings as failures.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=60,
    show_default=True,
    help="Seconds one document may take before it is stopped.",
)
@click.option(
    "--page-cap",
    type=click.IntRange(min=1),
    default=24,
    show_default=True,
    help="Most pages one document may have; a longer one fails.",
)
@click.option(
    "--executor",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Where to render: local processes, or a Dask cluster.",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="The Dask scheduler, e.g. tcp://10.0.0.5:8786 (with --executor dask).",
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
    print_ready: bool,
    force: bool,
    dry_run: bool,
    prune: bool,
    strict: bool,
    timeout: float,
    page_cap: int,
    executor: str,
    scheduler: str | None,
    quiet: bool,
) -> None:
    """Build every handout for every brand (or the ones you name) into output/.

    Up-to-date files are skipped (see output/manifest.json); exit code 0 when every
    document was built or skipped, 1 when any failed.
    """
    from . import build as builder
    from .checks import run_checks
    from .errors import HandoutsError
    from .plan import Filters, make_plan
    from .project import load_project

    if executor == "dask" and not scheduler:
        raise click.UsageError("--executor dask needs --scheduler tcp://HOST:PORT")
    try:
        project = load_project(project_dir)
        checks = run_checks(project, strict=strict)
        filters = Filters(brands, handouts, layouts, languages, print_ready)
        jobs = make_plan(project, filters, fmt)
        out = (out_dir if out_dir is not None else project.root / "output").resolve()
        stale = (
            builder.stale_outputs(out, make_plan(project, Filters(print_ready=True), fmt))
            if fmt == "pdf"
            else []
        )
    except HandoutsError as exc:
        _echo_problems(str(exc))
        sys.exit(EXIT_FAILED)

    if dry_run:
        for result in builder.dry_run(jobs, out, force=force, checks=checks):
            click.echo(f"{result.status:8} {result.output}  ({result.reason})")
        for name in stale:
            click.echo(f"{'prune' if prune else 'stale':8} {name}  (no longer in the plan)")
        return
    if stale:
        if prune:
            builder.prune(out, stale)
        for name in stale:
            verb = "removed" if prune else "stale  "
            hint = "" if prune else "  (no longer in the plan; --prune removes it)"
            if not quiet or not prune:
                click.echo(f"{verb} {name}{hint}", err=not prune)

    pool = _executor(executor, scheduler)
    progress = _Progress(quiet)
    try:
        report = builder.build(
            jobs,
            out,
            workers=workers or os.cpu_count() or 1,
            executor=pool,
            force=force,
            timeout=timeout,
            page_cap=page_cap,
            checks=checks,
            on_start=progress.start,
            on_result=progress.result,
        )
    except HandoutsError as exc:
        progress.stop()
        _echo_problems(str(exc))
        sys.exit(EXIT_FAILED)
    finally:
        if pool is not None:
            pool.shutdown()
    progress.stop()
    # Only the warnings about what this build makes count (a --brand build ignores others).
    warnings = [f for f in checks.warnings if any(f.concerns(j) for j in jobs)]
    _checks_summary(
        checks, warnings, {(j.handout.id, j.handout.language) for j in jobs}, quiet, strict
    )
    _summary(report, out, quiet, strict)
    if report.interrupted:
        sys.exit(EXIT_INTERRUPTED)
    ok = report.ok(strict) and not (strict and warnings)
    sys.exit(0 if ok else EXIT_FAILED)


@cli.command()
@_PROJECT_OPTION
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="A table to read, or JSON for other programs (shape: docs/checks.md).",
)
@click.option(
    "--strict", is_flag=True, help="Count warnings as failures; an overdue review is an error."
)
def check(project_dir: Path, fmt: str, strict: bool) -> None:
    """Check reading level, brand contrast, fonts, links and review dates before printing.

    Exit code 0 when clean, 1 when there are errors (or warnings, with --strict).
    """
    import json

    from .checks import format_text, run_checks, to_json
    from .errors import HandoutsError
    from .project import load_project

    try:
        report = run_checks(load_project(project_dir), strict=strict)
    except HandoutsError as exc:
        _echo_problems(str(exc))
        sys.exit(EXIT_FAILED)
    if fmt == "json":
        click.echo(json.dumps(to_json(report), indent=2, ensure_ascii=False))
    else:
        click.echo(format_text(report), nl=False)
    sys.exit(report.exit_code(strict))


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def init(directory: Path) -> None:
    """Start a new project in DIRECTORY: a sample handout and brand, ready to build."""
    from .errors import HandoutsError
    from .scaffold import init_project

    try:
        created = init_project(directory)
    except HandoutsError as exc:
        _echo_problems(str(exc))
        sys.exit(EXIT_FAILED)
    for path in created:
        click.echo(f"created {path}")
    click.echo(f"\nNext: handouts build -C {directory}   (then open {directory}/output/index.html)")


@cli.group()
def new() -> None:
    """Add a starter handout or brand to a project."""


@new.command("handout")
@click.argument("handout_id", metavar="ID")
@click.option("--title", help="The handout's title. Default: made from the ID.")
@_PROJECT_OPTION
def new_handout(handout_id: str, title: str | None, project_dir: Path) -> None:
    """Add content/handouts/ID.yaml, a commented starter handout."""
    from .scaffold import new_handout as make

    _scaffold(lambda: make(project_dir, handout_id, title))


@new.command("brand")
@click.argument("brand_id", metavar="ID")
@click.option("--name", help="The clinic's name. Default: made from the ID.")
@_PROJECT_OPTION
def new_brand(brand_id: str, name: str | None, project_dir: Path) -> None:
    """Add content/brands/ID/ with a commented brand.yaml and a placeholder logo."""
    from .scaffold import new_brand as make

    _scaffold(lambda: make(project_dir, brand_id, name))


def _scaffold(make: Any) -> None:
    from .errors import HandoutsError

    try:
        path = make()
    except HandoutsError as exc:
        _echo_problems(str(exc))
        sys.exit(EXIT_FAILED)
    click.echo(f"created {path}")


@cli.command()
@click.argument("kind", type=click.Choice(["handout", "brand"]))
def schema(kind: str) -> None:
    """Print the JSON Schema of a handout or brand file, for editors and validators."""
    import json

    from .scaffold import schema as make_schema

    click.echo(json.dumps(make_schema(kind), indent=2, ensure_ascii=False))


def _executor(kind: str, scheduler: str | None) -> Any:
    if kind != "dask":
        return None
    try:
        from distributed import Client
    except ImportError:
        raise click.UsageError(
            "--executor dask needs the Dask extra: pip install 'handouts[dask]'"
        ) from None
    try:
        return Client(scheduler, timeout="10s").get_executor()
    except (OSError, TimeoutError) as exc:
        raise click.UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None


class _Progress:
    """A rich progress bar on a terminal; one plain line per document otherwise."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None
        self.task: Any = None

    def start(self, total: int, todo: int) -> None:
        if self.quiet or not sys.stderr.isatty() or not todo:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("building"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task("build", total=todo)

    def result(self, result: Any) -> None:
        if self.bar is not None and result.status != "skipped":
            self.bar.advance(self.task)
        if result.status == "failed":
            self._print(f"FAILED  {result.output}", err=True, fg="red")
            for line in result.error.splitlines():
                self._print(f"  error: {line}", err=True, fg="red")
            return
        for warning in result.warnings:
            self._print(f"  warning: {result.output}: {warning}", err=True, fg="yellow")
        if self.quiet or (self.bar is not None and result.status == "skipped"):
            return
        if result.status == "skipped":
            self._print(f"skipped {result.output}  (up to date)")
        else:
            self._print(
                f"built   {result.output}  ({result.pages} page{'s' if result.pages != 1 else ''}, "
                f"{result.bytes / 1024:.0f} KB, {result.seconds:.2f} s; {result.reason})"
            )

    def _print(self, text: str, err: bool = False, **style: Any) -> None:
        if self.bar is not None:
            self.bar.console.print(text, style=style.get("fg"), highlight=False, markup=False)
        else:
            click.secho(text, err=err, **style)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def _checks_summary(
    checks: Any, warnings: list[Any], handouts: set[tuple[str, str]], quiet: bool, strict: bool
) -> None:
    """The reading level of what was built, and how many check warnings there are."""
    from .checks import readability_summary

    if quiet and not (strict and warnings):
        return
    for handout_id, language in sorted(handouts):
        figures = readability_summary(checks, handout_id, language)
        if figures.get("scale") == "grade":
            click.echo(
                f"reading grade {figures['grade']:.1f} (target {figures['target_grade']})"
                f": {handout_id} ({language})"
            )
        elif figures:
            click.echo(
                f"reading ease {figures['fernandez_huerta']:.1f} "
                f"(Fernández-Huerta, higher is easier): {handout_id} ({language})"
            )
    if warnings:
        counted = " (--strict counts them as failures)" if strict else ""
        click.secho(
            f"{len(warnings)} check warning(s){counted}; `handouts check` lists them",
            fg="red" if strict else "yellow",
            err=True,
        )


def _summary(report: Any, out: Path, quiet: bool, strict: bool) -> None:
    built, skipped, failed = (report.count(s) for s in ("built", "skipped", "failed"))
    rate = f" ({built / report.seconds:.1f} documents/s)" if report.seconds and built else ""
    line = (
        f"{built} built, {skipped} skipped, {failed} failed in {report.seconds:.1f} s"
        f"{rate} → {out}"
    )
    bad = not report.ok(strict)
    if report.interrupted:
        click.secho(
            "stopped: finished files and the manifest are kept; build again to continue.",
            fg="yellow",
            err=True,
        )
    if strict and report.warned:
        click.secho(
            f"{len(report.warned)} document(s) had warnings (--strict counts them as failures)",
            fg="red",
            err=True,
        )
    if not quiet or bad:
        click.echo(line, err=bad)


def main(argv: list[str] | None = None) -> None:
    """Entry point; no traceback ever reaches the user."""
    try:
        cli.main(args=argv, prog_name="handouts", standalone_mode=True)
    except KeyboardInterrupt:
        click.secho("stopped.", fg="yellow", err=True)
        sys.exit(EXIT_INTERRUPTED)
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


# ---------------------------------------------------------------- import


@cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--id",
    "handout_id",
    metavar="ID",
    help="The new handout's id (and file name). Default: made from its title.",
)
@click.option(
    "--lang",
    "language",
    default="en",
    show_default=True,
    metavar="CODE",
    help="The language the FAQ is written in.",
)
@click.option(
    "--references",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A references file (like the seed's references.yaml) that gives the cited articles "
    "their DOIs and links, by title.",
)
@click.option("--force", is_flag=True, help="Replace the handout if it already exists.")
@_PROJECT_OPTION
def import_faq(
    file: Path,
    handout_id: str | None,
    language: str,
    references: Path | None,
    force: bool,
    project_dir: Path,
) -> None:
    """Import an existing FAQ (.txt, .md, .html or .docx) as content/handouts/ID.yaml.

    Every guess the importer made is marked "# CHECK:" in the new file and listed here; a
    reviewer must check and approve the text before it is printed. The new handout is then
    checked as `handouts check` would. Nothing is ever invented: an article the FAQ does not
    link stays without a link.
    """
    from .errors import HandoutsError
    from .importers import import_file, write_result
    from .importers.writer import FORMAT_NAMES

    try:
        result = import_file(file, handout_id=handout_id, language=language, references=references)
        path = write_result(result, project_dir, force=force)
    except HandoutsError as exc:
        _echo_problems(str(exc))
        sys.exit(EXIT_FAILED)
    click.echo(f"imported {file} ({FORMAT_NAMES[result.format]}): {result.summary()}")
    click.echo(f"wrote {path}")
    for warning in result.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    if result.guesses:
        count = len(result.guesses)
        click.echo(
            f"\n{count} guess{'es' * (count != 1)} to check, each marked # CHECK: in the file:"
        )
        for guess in result.guesses:
            click.echo(f"  {path}:{guess.line} {guess.key}: {guess.message}")
    click.echo("\nhandouts check:")
    click.echo(_check_imported(project_dir, result.handout_id, result.language), nl=False)


def _check_imported(project_dir: Path, handout_id: str, language: str) -> str:
    """What `handouts check` says about one handout, as text (the project's own errors too)."""
    from .checks import CheckReport, format_text, run_checks
    from .errors import HandoutsError
    from .project import load_project

    try:
        report = run_checks(load_project(project_dir))
    except HandoutsError as exc:
        return "".join(f"  error: {line}\n" for line in str(exc).splitlines())
    mine = CheckReport(
        tuple(f for f in report.findings if (f.handout, f.language) == (handout_id, language)),
        tuple(r for r in report.readability if (r.handout, r.language) == (handout_id, language)),
        report.today,
        report.strict,
    )
    return format_text(mine)
