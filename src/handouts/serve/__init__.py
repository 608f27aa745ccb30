"""``handouts serve``: a local web app for clinic staff (find, edit, preview and build
leaflets), guarded like a notebook server. Needs the ``serve`` extra (Starlette, uvicorn,
watchfiles, ruamel.yaml, python-multipart).

    from handouts.serve import create_app, run
    run("clinic-leaflets", port=8000)        # prints the address with its token, serves
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable
from pathlib import Path

from ..errors import HandoutsError, Problem
from .app import App, create_app
from .security import MIN_TOKEN_LENGTH, is_loopback, new_token

__all__ = ["App", "create_app", "listen", "run", "token_from_environment"]

TOKEN_VARIABLE = "HANDOUTS_TOKEN"


def token_from_environment() -> str | None:
    """The token set in HANDOUTS_TOKEN, or None; too short a token is refused."""
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        return None
    if len(token) < MIN_TOKEN_LENGTH:
        raise HandoutsError(
            Problem(
                TOKEN_VARIABLE,
                f"the token is too short ({len(token)} characters; at least {MIN_TOKEN_LENGTH})",
                hint="use a long random value, e.g. from `python -c 'import secrets; "
                "print(secrets.token_urlsafe(24))'`",
            )
        )
    return token


def listen(host: str, port: int) -> socket.socket:
    """A listening socket, or a plain error when the address is taken or not ours."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            message, hint = f"port {port} is already in use", "choose another with --port"
        else:
            message = f"cannot listen on {host}:{port} ({exc.strerror or exc})"
            hint = "check --host"
        raise HandoutsError(Problem(f"{host}:{port}", message, hint=hint)) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def run(
    root: Path | str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    extra_hosts: tuple[str, ...] = (),
    say: Callable[[str], None] = print,
) -> None:
    """Serve the project at ``root`` until Ctrl-C. A host other than loopback needs a token
    set in HANDOUTS_TOKEN (a random token printed to a terminal is for one person)."""
    import uvicorn

    explicit = token_from_environment()
    if not is_loopback(host) and explicit is None:
        raise HandoutsError(
            Problem(
                f"--host {host}",
                "refusing to serve beyond this computer without a token you chose",
                hint=f"set {TOKEN_VARIABLE} to a long random value first, or leave --host out "
                "to serve on 127.0.0.1 only",
            )
        )
    app = create_app(
        root, token=explicit or new_token(), port=port, bind=host, extra_hosts=extra_hosts
    )
    sock = listen(host, port)
    actual = sock.getsockname()[1]
    app.settings.port = actual
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    link = f"http://{shown}:{actual}/"
    if explicit is None:
        link += f"?token={app.settings.token}"
    say(f"Serving {app.backend.root} — open this address in your browser:\n\n    {link}\n")
    if explicit is not None:
        say(f"(add ?token=<the value of {TOKEN_VARIABLE}> the first time)")
    say("Press Ctrl-C to stop.")
    config = uvicorn.Config(
        app.asgi,
        log_level="warning",
        access_log=False,  # an access log would record the token in the first address
        timeout_graceful_shutdown=3,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
