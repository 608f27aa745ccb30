"""How the command line shows things: problems, a progress bar or plain lines per document,
the summary. Front-end code: the library below never prints.

Text that came from content (a file name, a message quoting a value) may hold control
characters; ``clean`` shows them as escapes, so no file can drive the user's terminal.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from typing import Any

import click

# C0 and C1 controls except tab and newline, DEL, and the bidirectional overrides/isolates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """``text`` with every character that could control a terminal shown as an escape."""
    return _UNSAFE.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"
        ),
        text,
    )


def echo_problems(text: str | Iterable[Any], prefix: str = "error: ") -> None:
    lines = text.splitlines() if isinstance(text, str) else [str(p) for p in text]
    for line in lines:
        click.secho(f"{prefix}{clean(line)}", fg="red", err=True)


def note(message: str) -> None:
    click.secho(clean(message), fg="yellow", err=True)


class BuildProgress:
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
        if self.bar is not None and result.status not in ("skipped", "failed"):
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
            self._print(f"skipped {result.output}  ({result.reason})")
        elif result.status == "planned":
            self._print(f"planned {result.output}  ({result.reason})")
        else:
            pages = (
                f"{result.pages} page{'s' if result.pages != 1 else ''}, " if result.pages else ""
            )
            self._print(
                f"built   {result.output}  ({pages}{result.bytes / 1024:.0f} KB, "
                f"{result.seconds:.2f} s; {result.reason})"
            )

    def _print(self, text: str, err: bool = False, **style: Any) -> None:
        text = clean(text)
        if self.bar is not None:
            self.bar.console.print(text, style=style.get("fg"), highlight=False, markup=False)
        else:
            click.secho(text, err=err, **style)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def readability_lines(figures: dict[tuple[str, str], dict[str, Any]]) -> list[str]:
    lines = []
    for (handout_id, language), f in sorted(figures.items()):
        if f.get("scale") == "grade":
            lines.append(
                f"reading grade {f['grade']:.1f} (target {f['target_grade']}): "
                f"{handout_id} ({language})"
            )
        elif f:
            lines.append(
                f"reading ease {f['fernandez_huerta']:.1f} (Fernández-Huerta, higher is "
                f"easier): {handout_id} ({language})"
            )
    return lines


def summary(report: Any, out: Any, quiet: bool, strict: bool, warnings: int) -> None:
    """The closing lines: pruned or stale outputs, notes, reading grades, the counts."""
    for name in report.pruned:
        if not quiet:
            click.echo(f"removed {clean(name)}")
    for name in report.kept:
        note(f"kept    {name}  (changed since it was built, so it was not removed)")
    for name in report.stale:
        click.secho(f"stale   {clean(name)}  (no longer in the plan; --prune removes it)", err=True)
    for line in report.notes:
        note(f"note: {line}")
    if warnings and (not quiet or strict):
        counted = " (--strict counts them as failures)" if strict else ""
        click.secho(
            f"{warnings} check warning(s){counted}; `handouts check` lists them",
            fg="red" if strict else "yellow",
            err=True,
        )
    built, skipped, failed = (report.count(s) for s in ("built", "skipped", "failed"))
    rate = f" ({built / report.seconds:.1f} documents/s)" if report.seconds and built else ""
    line = (
        f"{built} built, {skipped} skipped, {failed} failed in {report.seconds:.1f} s{rate} → {out}"
    )
    bad = not report.ok(strict) or (strict and warnings)
    if report.interrupted:
        note("stopped: finished files and the manifest are kept; build again to continue.")
    if strict and report.warned:
        click.secho(
            f"{len(report.warned)} document(s) had warnings (--strict counts them as failures)",
            fg="red",
            err=True,
        )
    if not quiet or bad:
        click.echo(clean(line), err=bool(bad))


def finish_build(report: Any, out: Any, quiet: bool, strict: bool) -> list[str]:
    """What a build prints when it is done: the reading level of what it made, each sign-off
    warning (a changed text must be seen) and one line per file with placeholders, then the
    summary. Returns the reading-level lines (the no-op shortcut repeats them)."""
    from .checks.placeholders import summary as placeholder_lines

    readability = readability_lines(report.readability)
    if not quiet:
        for line in readability:
            click.echo(line)
        for f in report.check_warnings:
            if f.code.startswith("governance."):
                note(f"warning: {f.problem}")
        for line in placeholder_lines(report.check_warnings):
            note(f"warning: {line}")
    summary(report, out, quiet, strict, len(report.check_warnings))
    return readability
