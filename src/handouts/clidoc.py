"""The CLI reference (docs/cli.md), generated from the commands' own help texts.

``python -m handouts.clidoc > docs/cli.md`` rewrites it; a test fails when the file is out of
date or when any command or option lacks help.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import click

from .cli import cli


def _commands(group: click.Group, prefix: str) -> Iterator[tuple[str, click.Command]]:
    for name in sorted(group.commands):
        command = group.commands[name]
        path = f"{prefix} {name}"
        yield path, command
        if isinstance(command, click.Group):
            yield from _commands(command, path)


def reference() -> str:
    lines = [
        "# Command-line reference",
        "",
        "Generated from the commands' help by `python -m handouts.clidoc > docs/cli.md`.",
        "",
    ]
    for path, command in [("handouts", cli), *_commands(cli, "handouts")]:
        context = click.Context(command, info_name=path, help_option_names=["-h", "--help"])
        lines += [
            f"## `{path}`",
            "",
            inspect.cleandoc(command.help or ""),
            "",
            "```",
            command.get_usage(context),
            "```",
            "",
        ]
        rows = [param.get_help_record(context) for param in command.get_params(context)]
        rows = [row for row in rows if row]
        if rows:
            lines += ["| option | meaning |", "|---|---|"]
            lines += [
                f"| `{name.replace('|', '/')}` | {text.replace('|', '/')} |" for name, text in rows
            ]
            lines.append("")
        arguments = [p for p in command.params if isinstance(p, click.Argument)]
        if arguments:
            names = ", ".join(f"`{p.human_readable_name}`" for p in arguments)
            lines += [f"Arguments: {names}.", ""]
    return "\n".join(lines).rstrip() + "\n"


def undocumented() -> list[str]:
    """Commands and options without help text."""
    missing = []
    for path, command in [("handouts", cli), *_commands(cli, "handouts")]:
        if not command.help:
            missing.append(path)
        for param in command.params:
            if isinstance(param, click.Option) and not param.help:
                missing.append(f"{path} {param.opts[0]}")
    return missing


if __name__ == "__main__":
    print(reference(), end="")
