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
FORMATS = ["pdf", "web", "html"]  # formats.selectable(), without importing it at start-up


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
    type=click.Choice(FORMATS),
    default="pdf",
    show_default=True,
    help="pdf: the handouts; web: an accessible web page per brand and language for the "
    "clinic's site; html: the intermediate HTML and its assets, to debug templates.",
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
    if _up_to_date(project_dir, out_dir, o):
        return
    from . import api
    from .console import BuildProgress, echo_problems, finish_build, note

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
    if not o["dry_run"]:
        api.prepare(request)
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
    out = api.output_dir(project, out_dir)
    readability = finish_build(report, out, o["quiet"], o["strict"])
    if report.interrupted:
        sys.exit(_stop_code())
    warnings = len(report.check_warnings)
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
    if not root.is_dir() or o["fmt"] != "pdf" or o["dry_run"]:
        return False
    digest, state = shortcut(root, out, options, dt.date.today())
    o["_digest"] = digest  # a successful build leaves its state for the next one
    if state is None or o["force"]:
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
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The output folder whose preflight findings to list. Default: output/.",
)
def check(project_dir: Path, fmt: str, strict: bool, out_dir: Path | None) -> None:
    """Check reading level, brand contrast, fonts, links and review dates before printing,
    and list what the last build's preflight found on the printed pages.

    Exit code 0 when clean, 1 when there are errors (or warnings, with --strict).
    """
    import json

    from . import api
    from .checks import format_text, to_json
    from .console import clean, echo_problems

    try:
        project = api.open_project(project_dir)
        out = out_dir if out_dir is not None else project.root / "output"
        report = api.check(project, strict=strict, out=out)
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


# ---------------------------------------------------------------- send (email to patients)


@cli.command()
@click.argument("handout", required=False, metavar="HANDOUT")
@_PROJECT_OPTION
@click.option("--brand", "brand_id", metavar="ID", help="The clinic whose handout is sent.")
@click.option(
    "--to",
    "to",
    multiple=True,
    metavar="ADDRESS",
    help="A patient's email address (repeatable).",
)
@click.option(
    "--to-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A CSV file with an email column and an optional language column; it is only read, "
    "never copied.",
)
@click.option("--lang", "language", metavar="CODE", help="The language for patients without one.")
@click.option(
    "--layout", metavar="NAME", help="Which layout to attach. Default: the brand's first."
)
@click.option(
    "--eml",
    "eml_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write each message as a .eml file in this folder instead of sending it.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show recipients (masked), subject, attachment and size; send nothing.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation; skip likely typos.")
@click.option(
    "--again", is_flag=True, help="Send even to addresses that got it in the last 24 hours."
)
@click.option(
    "--was-sent",
    "was_sent",
    metavar="ADDRESS",
    help="Say whether, and what, was sent to this address (from output/sent.jsonl); exit "
    "code 0 when something was, 1 when nothing was.",
)
def send(
    handout: str | None,
    project_dir: Path,
    brand_id: str | None,
    to: tuple[str, ...],
    to_file: Path | None,
    language: str | None,
    layout: str | None,
    eml_dir: Path | None,
    dry_run: bool,
    yes: bool,
    again: bool,
    was_sent: str | None,
) -> None:
    """Email HANDOUT to patients, as a PDF attached to a short message that names no
    condition (set-up: docs/sending-to-patients.md).

    The PDF is built first if it is not up to date. Every message sent is recorded in
    output/sent.jsonl without the address; the same handout is not sent to the same address
    twice within 24 hours. Exit code 0 when everything was sent (or skipped), 1 when
    anything was not.
    """
    from .errors import HandoutsError

    if was_sent:
        _was_sent(project_dir, was_sent)
        return
    if not handout or not brand_id:
        raise click.UsageError("give the HANDOUT and --brand ID (or use --was-sent ADDRESS)")
    if not to and not to_file:
        raise click.UsageError("give --to ADDRESS or --to-file patients.csv")
    from . import send as sending

    try:
        found = sending.load_recipients(to, to_file)
        recipients, typos = _typos(found.recipients, yes or dry_run)
        request = sending.SendRequest(handout, brand_id, layout, language, eml_dir, again)
        plan = sending.prepare(project_dir, request, recipients)
    except HandoutsError as exc:
        _echo_problems(str(exc))
        sys.exit(EXIT_FAILED)
    for note in [*found.notes, *plan.notes]:
        click.secho(f"note: {note}", fg="yellow", err=True)
    _send_overview(plan, typos, dry_run)
    if dry_run:
        sys.exit(0)
    if not plan.to_send:
        click.echo("Nothing to send.", err=bool(typos))
        sys.exit(0 if not typos else EXIT_FAILED)
    if not yes and not _confirm_send(plan):
        click.echo("Nothing was sent.")
        sys.exit(EXIT_FAILED)
    try:
        if eml_dir:
            summary = sending.write_eml(plan, on_outcome=_send_line)
        else:
            summary = sending.deliver(plan, on_outcome=_send_line, on_retry=_send_retry)
    except HandoutsError as exc:
        _echo_problems(str(exc))
        sys.exit(EXIT_FAILED)
    _send_summary(summary, typos, plan)
    sys.exit(0 if summary.ok and not typos else EXIT_FAILED)


def _typos(recipients: list[Any], no_questions: bool) -> tuple[list[Any], list[Any]]:
    """Ask about each address whose domain looks misspelt; with --yes (or in a dry run),
    leave them out."""
    kept, left_out = [], []
    for r in recipients:
        if not r.suggestion:
            kept.append(r)
            continue
        typed, meant = r.domain, r.suggestion.rpartition("@")[2]
        if no_questions:
            left_out.append(r)
            continue
        click.echo(f"{r.where}: {r.masked} ends in '{typed}': did you mean '{meant}'?")
        choice = click.prompt(
            f"  fix = send to ...@{meant}, keep = send to ...@{typed} as typed, skip = not now",
            type=click.Choice(["fix", "keep", "skip"]),
            default="skip",
        )
        if choice == "fix":
            kept.append(r.corrected())
        elif choice == "keep":
            kept.append(type(r)(r.address, r.where, r.language))
        else:
            left_out.append(r)
    return kept, left_out


def _send_overview(plan: Any, typos: list[Any], dry_run: bool) -> None:
    if dry_run:
        click.echo("Dry run: nothing is sent.")
    action = "write" if plan.eml_dir else "send"
    for d in plan.deliveries:
        if plan.again or d.already is None:
            if dry_run:
                message = plan.message(d)
                size = len(message.as_bytes())
                click.echo(
                    f"{action:5} {d.recipient.masked}  ({d.recipient.where})  {d.language}  "
                    f"subject: {message['Subject']}  attachment: {d.attachment} "
                    f"({d.document.size / 1024:.0f} KB; message {size / 1024:.0f} KB)"
                )
        else:
            click.echo(
                f"skip  {d.recipient.masked}  ({d.recipient.where}): already sent "
                f"{d.already.get('time', '')}; --again sends it anyway"
            )
    for r in typos:
        meant = r.suggestion.rpartition("@")[2]
        click.secho(
            f"ask   {r.masked}  ({r.where}): '{r.domain}' looks like a typo of '{meant}'; "
            "a real run asks what to do"
            if dry_run
            else f"skip  {r.masked}  ({r.where}): '{r.domain}' looks like a typo of '{meant}'; "
            "run without --yes to decide",
            fg="yellow",
            err=True,
        )


def _confirm_send(plan: Any) -> bool:
    todo = plan.to_send
    first = todo[0]
    languages = sorted({d.language for d in todo})
    if len(todo) == 1:
        click.echo(f"To:         {first.recipient.address}")
    else:
        click.echo(f"To:         {len(todo)} recipients")
    click.echo(f"Handout:    {plan.handout} ({plan.brand.brand.name}, {plan.layout})")
    click.echo(f"Language:   {', '.join(languages)}")
    for lang in languages:
        d = next(x for x in todo if x.language == lang)
        click.echo(f"Attachment: {d.attachment} ({d.document.size / 1024:.0f} KB)")
    verb = "Write" if plan.eml_dir else "Send"
    try:
        return click.confirm(f"{verb} {len(todo)} message(s)?", default=False)
    except click.Abort:
        click.echo("")
        click.secho(
            "error: no answer to the question (add --yes to send without asking)",
            fg="red",
            err=True,
        )
        return False


def _send_line(outcome: Any) -> None:
    r = outcome.delivery.recipient
    if outcome.status in ("sent", "written"):
        click.echo(f"{outcome.status:7} {r.masked}  ({r.where})  {outcome.delivery.language}")
    elif outcome.status == "skipped":
        click.echo(f"skipped {r.masked}  ({r.where}): {outcome.detail}")
    elif outcome.status == "failed":
        click.secho(f"FAILED  {r.masked}  ({r.where}): {outcome.detail}", fg="red", err=True)


def _send_retry(delivery: Any, failure: Any, wait: float) -> None:
    r = delivery.recipient
    click.secho(
        f"retry   {r.masked}  ({r.where}): {failure.message}; trying again in {wait:g} s",
        fg="yellow",
        err=True,
    )


def _send_summary(summary: Any, typos: list[Any], plan: Any) -> None:
    done = "written" if plan.eml_dir else "sent"
    counts = [f"{summary.count(done)} {done}"]
    for status in ("skipped", "failed", "not sent"):
        if summary.count(status):
            counts.append(f"{summary.count(status)} {status}")
    if typos:
        counts.append(f"{len(typos)} left out as likely typos")
    bad = not summary.ok or bool(typos)
    if summary.stopped:
        click.secho(f"stopped: {summary.stopped}", fg="red", err=True)
        not_sent = [o for o in summary.outcomes if o.status == "not sent"]
        for o in not_sent:
            r = o.delivery.recipient
            click.secho(f"not sent {r.masked}  ({r.where})", fg="red", err=True)
        click.secho(
            "Fix the problem and run the same command again: what was sent is skipped.",
            fg="red",
            err=True,
        )
    click.echo(", ".join(counts) + ".", err=bad)


def _was_sent(project_dir: Path, address: str) -> None:
    from .errors import HandoutsError
    from .send import mask, was_sent

    try:
        records = was_sent(project_dir, address)
    except HandoutsError as exc:
        _echo_problems(str(exc))
        sys.exit(EXIT_FAILED)
    shown = mask(address.strip())
    if records is None:
        click.echo("Nothing was ever sent from this project (it has no .handouts-secret).")
        sys.exit(EXIT_FAILED)
    found = [r for r in records if r.get("event") in ("sent", "eml")]
    if not found:
        click.echo(f"No message to {shown} is recorded in output/sent.jsonl.")
        sys.exit(EXIT_FAILED)
    for r in found:
        what = "sent   " if r.get("event") == "sent" else "written"
        click.echo(
            f"{what} {r.get('time', '?')}  {r.get('document', '?')}  "
            f"Message-ID {r.get('message_id', '?')}"
        )


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
    """What `handouts check` says about one handout, as text: the errors in its file, or the
    checks' findings."""
    from . import api
    from .checks import CheckReport, format_text

    try:
        project = api.open_project(project_dir)
    except HandoutsError as exc:
        return "".join(f"  error: {line}\n" for line in str(exc).splitlines())
    broken = [b.display for b in project.broken if (b.name, b.language) == (handout_id, language)]
    if broken:
        mine_only = [p for p in project.problems if str(p.path) in broken]
        return "".join(f"  error: {p}\n" for p in mine_only)
    report = api.check(project)
    mine = CheckReport(
        tuple(f for f in report.findings if (f.handout, f.language) == (handout_id, language)),
        tuple(r for r in report.readability if (r.handout, r.language) == (handout_id, language)),
        report.today,
        report.strict,
    )
    return format_text(mine)


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


# ---------------------------------------------------------------- handouts review


@cli.group()
def review() -> None:
    """Sign off handouts, see what changed since, and what was printed when."""


_DATE = click.DateTime(formats=["%Y-%m-%d"])


@review.command("approve")
@click.argument("handout_id", metavar="HANDOUT")
@click.option(
    "--lang",
    "language",
    metavar="CODE",
    help="The language version to approve. Default: the original (the one that is not a "
    "translation). Approving a translation also records the source text it matches.",
)
@click.option(
    "--by",
    "by",
    required=True,
    metavar="NAME",
    help='Who approved the text, e.g. "Dr A. Rivera, medical director".',
)
@click.option("--note", metavar="TEXT", help="What was checked or changed (kept in the history).")
@click.option(
    "--on",
    "on",
    type=_DATE,
    metavar="YYYY-MM-DD",
    help="The date of the sign-off, for one made earlier on paper. Default: today.",
)
@click.option(
    "--next-review",
    type=_DATE,
    metavar="YYYY-MM-DD",
    help="When the text is due for review again. Default: a year after the sign-off.",
)
@click.option(
    "--version",
    "version",
    metavar="VERSION",
    help="The version to record, e.g. to adopt a review typed in by hand. Default: the next "
    "one, or the same one when the text has not changed since the last sign-off.",
)
@_PROJECT_OPTION
def review_approve(
    handout_id: str,
    language: str | None,
    by: str,
    note: str | None,
    on: Any,
    next_review: Any,
    version: str | None,
    project_dir: Path,
) -> None:
    """Record that a clinician approved a handout's current text.

    Writes the date, the reviewer, the version and the text's fingerprint into the handout's
    review: block (and one more entry into review.history), changing no other line of the
    file; the previous file is kept as NAME.yaml.bak.
    """
    from . import api
    from .console import clean, echo_problems

    try:
        project = api.open_project(project_dir)
        echo_problems(project.problems)
        done = api.approve(
            project,
            handout_id,
            language,
            by=by,
            note=note,
            on=on.date() if on else None,
            next_review=next_review.date() if next_review else None,
            version=(int(version) if version.strip().isdigit() else version.strip())
            if version
            else None,
        )
    except HandoutsError as exc:
        echo_problems(str(exc))
        sys.exit(EXIT_FAILED)
    click.echo(clean(done.describe()))
    click.echo(f"fingerprint {done.fingerprint}")
    if done.source:
        from .i18n import language_name

        lang, source_version = done.source
        of = f" (version {source_version})" if source_version is not None else ""
        click.echo(f"recorded the {language_name(lang, 'en')} text{of} as the translation's source")
    for line in done.notes:
        click.secho(f"note: {clean(line)}", fg="yellow", err=True)
    if done.saved.backup:
        click.echo(f"the previous version is kept as {clean(done.saved.backup.name)}")


@review.command("status")
@_PROJECT_OPTION
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="A list to read, or JSON for other programs (shape: docs/reviewing.md).",
)
def review_status(project_dir: Path, fmt: str) -> None:
    """List every handout in every language: approved, changed since approval (and where),
    overdue, or never approved; and whether each translation matches its source."""
    import json

    from . import api
    from .console import clean, echo_problems

    try:
        project = api.open_project(project_dir)
    except HandoutsError as exc:
        echo_problems(str(exc))
        sys.exit(EXIT_FAILED)
    echo_problems(project.problems)
    if fmt == "json":
        click.echo(json.dumps(api.review_status_json(project), indent=2, ensure_ascii=False))
        sys.exit(EXIT_FAILED if project.problems else 0)
    found = api.review_status(project)
    for s in found:
        label = {"approved": "approved", "changed": "CHANGED", "never-approved": "never approved"}
        state = label[s.state] + (", overdue" if s.overdue else "")
        click.echo(clean(f"{s.handout} ({s.language})  {state}  {s.path}"))
        click.echo(clean(f"  {s.describe()}"))
    for broken in project.broken_of("handout").values():
        for b in broken:
            click.echo(clean(f"{b.name} ({b.language or '?'})  has errors  {b.display}"))
    counts = {k: sum(s.state == k for s in found) for k in ("approved", "changed")}
    never = sum(s.state == "never-approved" for s in found)
    overdue = sum(s.overdue for s in found)
    stale = sum(bool(s.translation and s.translation.state == "out-of-date") for s in found)
    click.echo(
        f"\n{len(found)} handout version(s): {counts['approved']} approved, "
        f"{counts['changed']} changed since approval, {never} never approved, "
        f"{overdue} overdue, {stale} translation(s) out of date"
        + ("; approval is required to print" if project.settings.require_approval else "")
    )
    sys.exit(EXIT_FAILED if project.problems else 0)


@review.command("history")
@_PROJECT_OPTION
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The output folder whose history to read. Default: output/ in the project folder.",
)
@click.option("--brand", "brands", multiple=True, metavar="ID", help="Only this brand.")
@click.option("--handout", "handouts", multiple=True, metavar="ID", help="Only this handout.")
@click.option("--lang", "languages", multiple=True, metavar="CODE", help="Only this language.")
@click.option("--layout", "layouts", multiple=True, metavar="NAME", help="Only this layout.")
@click.option(
    "--on",
    "on",
    type=_DATE,
    metavar="YYYY-MM-DD",
    help="For each document, the version that was there to print on this day (the last one "
    "built by its end, in UTC).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Lines to read, or JSON lines for other programs.",
)
def review_history(
    project_dir: Path,
    out_dir: Path | None,
    brands: tuple[str, ...],
    handouts: tuple[str, ...],
    languages: tuple[str, ...],
    layouts: tuple[str, ...],
    on: Any,
    fmt: str,
) -> None:
    """Which version of each handout was built, for which clinic and when, from
    output/history.jsonl (appended by every build, never rewritten)."""
    from . import api
    from .console import clean, echo_problems

    out = out_dir if out_dir is not None else project_dir / "output"
    try:
        found = api.print_history(
            out,
            brands=brands,
            handouts=handouts,
            languages=languages,
            layouts=layouts,
            on=on.date() if on else None,
        )
    except HandoutsError as exc:
        echo_problems(str(exc))
        sys.exit(EXIT_FAILED)
    if found.damaged:
        click.secho(
            f"warning: {found.damaged} damaged line(s) in {clean(str(found.path))} were skipped",
            fg="yellow",
            err=True,
        )
    for e in found.entries:
        if fmt == "json":
            click.echo(e.as_json(ascii_only=True))
            continue
        version = f"version {e.version}" if e.version is not None else "never reviewed"
        state = ("approved" if e.approved else "NOT approved") + (", DRAFT" if e.draft else "")
        click.echo(
            clean(
                f"{e.time}  {e.output}  {version}, {state}  "
                f"fingerprint {e.fingerprint[:12]}  sha256 {e.sha256[:12]}"
            )
        )
    if not found.entries and fmt == "text":
        where = f" on {on.date()}" if on else ""
        click.echo(clean(f"no documents in the print history{where} ({found.path})"))


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
