"""The ``handouts`` command: a thin shell over the library. Parses options, calls one library
function, shows results and maps errors to exit codes (0 ok, 1 failed, 2 usage, 3 a bug of
ours, 130 stopped by Ctrl-C)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from . import __version__
from .defaults import DEFAULT_PAGE_CAP, DEFAULT_TIMEOUT
from .errors import HandoutsError

EXIT_FAILED = 1
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
_stopped_by = {"sigterm": False}


def _echo_problems(text: str, prefix: str = "error: ") -> None:
    from .console import echo_problems

    echo_problems(text, prefix)


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
    help="Worker processes. Default: the number of CPUs (at most twice that). "
    "1 renders in-process.",
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
    help="Remove outputs whose brand, handout, language or layout no longer exists "
    "(only files this tool wrote and nobody changed since).",
)
@click.option("--strict", is_flag=True, help="Count warnings as failures.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds one document may take before it is stopped.",
)
@click.option(
    "--page-cap",
    type=click.IntRange(min=1),
    default=DEFAULT_PAGE_CAP,
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
@click.option(
    "--no-wait",
    is_flag=True,
    help="Fail at once if another build is writing to the output folder, instead of waiting.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
@click.pass_context
def build(ctx: click.Context, project_dir: Path, out_dir: Path | None, **o: Any) -> None:
    """Build every handout for every brand (or the ones you name) into output/.

    Up-to-date files are skipped (see output/manifest.json); exit code 0 when every
    document was built or skipped, 1 when any failed or a file has errors.
    """
    if not (o["force"] or o["dry_run"]) and _up_to_date(project_dir, out_dir, o):
        return
    from . import api
    from .console import BuildProgress, echo_problems, note, readability_lines, summary

    filters = api.Filters(
        o["brands"], o["handouts"], o["layouts"], o["languages"], o["print_ready"]
    )
    explicit_timeout = ctx.get_parameter_source("timeout") is not ParameterSource.DEFAULT
    pool = _executor(o["executor"], o["scheduler"], explicit_timeout)
    request = api.BuildRequest(
        filters, [o["fmt"]], out_dir, o["force"], o["prune"], o["workers"], pool,
        api.Limits(o["timeout"], o["page_cap"]), o["strict"], not o["no_wait"], note,
    )  # fmt: skip
    progress = BuildProgress(o["quiet"])
    digest = o.pop("_digest", None)
    try:
        project = api.open_project(project_dir)
        echo_problems(project.problems)
        checks = api.check(project, strict=o["strict"])
        if o["dry_run"]:
            sys.exit(_preview(api.dry_run(project, request, checks), o["prune"]))
        report = api.build(project, request, checks=checks, progress=progress)
    except HandoutsError as exc:
        progress.stop()
        echo_problems(str(exc))
        sys.exit(EXIT_FAILED)
    finally:
        if pool is not None:
            pool.shutdown()
    progress.stop()
    readability = readability_lines(report.readability)
    if not o["quiet"]:
        for line in readability:
            click.echo(line)
    warnings = len(report.check_warnings)
    out = api.output_dir(project, out_dir)
    summary(report, out, o["quiet"], o["strict"], warnings)
    if report.interrupted:
        sys.exit(_stop_code())
    ok = report.ok(o["strict"]) and not (o["strict"] and warnings) and not project.problems
    if ok and digest:
        api.remember_no_op(project, out, digest, report, readability, warnings)
    sys.exit(0 if ok else EXIT_FAILED)


def _up_to_date(project_dir: Path, out_dir: Path | None, o: dict[str, Any]) -> bool:
    """The no-op shortcut (noop.py): report "up to date" without loading the project when
    nothing has changed since the last successful build with the same options."""
    import datetime as dt

    from .console import note, summary
    from .noop import shortcut

    root = project_dir.resolve()
    out = (out_dir if out_dir is not None else root / "output").resolve()
    keys = ("brands", "handouts", "layouts", "languages", "fmt", "print_ready", "strict", "prune")
    options = {k: list(v) if isinstance(v, tuple) else v for k, v in o.items() if k in keys}
    if not root.is_dir() or o["fmt"] != "pdf":
        return False
    digest, state = shortcut(root, out, options, dt.date.today())
    o["_digest"] = digest
    if state is None:
        return False
    from .results import Report, Result

    results = [Result(n, n, "skipped", reason="up to date") for n in sorted(state.outputs)]
    if not o["quiet"]:
        for result in results:
            click.echo(f"skipped {result.output}  (up to date)")
        for line in state.readability:
            click.echo(line)
    report = Report(results, 0.0, stale=state.stale)
    summary(report, out, o["quiet"], o["strict"], state.warnings)
    if o["strict"] and state.warnings:
        note("note: --strict counts the check warnings above as failures")
        sys.exit(EXIT_FAILED)
    return True


def _preview(preview: Any, prune: bool) -> int:
    from .console import clean, note

    for result in preview.results:
        click.echo(clean(f"{result.status:8} {result.output}  ({result.reason})"))
    for name in preview.stale:
        click.echo(clean(f"{'prune' if prune else 'stale':8} {name}  (no longer in the plan)"))
    for line in preview.notes:
        note(f"note: {line}")
    return 0


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

    from . import api
    from .checks import format_text, to_json
    from .console import clean, echo_problems

    try:
        project = api.open_project(project_dir)
        report = api.check(project, strict=strict)
    except HandoutsError as exc:
        echo_problems(str(exc))
        sys.exit(EXIT_FAILED)
    echo_problems(project.problems)
    if fmt == "json":
        click.echo(json.dumps(to_json(report, project.problems), indent=2, ensure_ascii=False))
    else:
        click.echo(clean(format_text(report)), nl=False)
    sys.exit(EXIT_FAILED if project.problems else report.exit_code(strict))


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


def _executor(kind: str, scheduler: str | None, explicit_timeout: bool) -> Any:
    if kind != "dask":
        return None
    if not scheduler:
        raise click.UsageError("--executor dask needs --scheduler tcp://HOST:PORT")
    if explicit_timeout:
        raise click.UsageError(
            "--timeout cannot be enforced on Dask workers: they render in threads, which "
            "cannot be stopped; leave --timeout out (the page cap still applies), or build "
            "with local workers"
        )
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


def _stop_code() -> int:
    return EXIT_TERMINATED if _stopped_by["sigterm"] else EXIT_INTERRUPTED


def _on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM (CI cancelling, `systemctl stop`) stops a build like Ctrl-C does."""
    _stopped_by["sigterm"] = True
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Entry point; no traceback ever reaches the user."""
    import signal

    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        code = cli.main(args=argv, prog_name="handouts", standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.secho("stopped.", fg="yellow", err=True)
        sys.exit(_stop_code())
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except Exception as exc:  # an unexpected failure is our bug, not the user's
        from .console import clean

        click.secho(f"internal error: {type(exc).__name__}: {clean(str(exc))}", fg="red", err=True)
        click.echo(
            "This is a bug in handouts. Please report it with the command you ran; "
            "set HANDOUTS_DEBUG=1 to see the details.",
            err=True,
        )
        if os.environ.get("HANDOUTS_DEBUG"):
            raise
        sys.exit(EXIT_INTERNAL)
    sys.exit(code if isinstance(code, int) else 0)


# ---------------------------------------------------------------- the web app


@cli.command()
@_PROJECT_OPTION
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="The port to listen on (0: any free port).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to listen on. Anything but this computer (127.0.0.1) needs a token "
    "you chose, set in the HANDOUTS_TOKEN environment variable.",
)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="NAME",
    help="Another host name the app may be reached by, e.g. this computer's name on the "
    "network (repeatable).",
)
def serve(project_dir: Path, port: int, host: str, allow_hosts: tuple[str, ...]) -> None:
    """Start the web app for clinic staff: find, edit, preview and build leaflets.

    Prints an address with a one-time token to open in the browser; the app then works
    until you press Ctrl-C. See docs/for-staff.md.
    """
    try:
        from .serve import run
    except ImportError as exc:
        raise click.UsageError(
            f"the web app needs its extra ({exc.name} is missing): pip install 'handouts[serve]'"
        ) from None
    try:
        run(project_dir, host=host, port=port, extra_hosts=allow_hosts, say=click.echo)
    except HandoutsError as exc:
        _echo_problems(str(exc))
        sys.exit(EXIT_FAILED)
