"""Who may use the app and what a page may do, guarded like a notebook server.

- **Host allow-list** (against DNS rebinding): only the names the server was started for.
- **Token**: a random one is printed at start; the first visit brings it in the address
  (``?token=...``), then an HttpOnly, SameSite=Strict cookie carries a value derived from it.
- **CSRF**: every POST carries a token derived from the session (a hidden form field, or the
  ``X-CSRF-Token`` header that htmx sends); cross-site requests are refused outright.
- **Body caps**: a request body is read up to its cap and no further (413 beyond it).
- **Headers**: a strict Content-Security-Policy (no inline script or style, nothing from
  elsewhere), nosniff, no framing, no referrer.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
DEFAULT_BODY_CAP = 2 * 1024 * 1024  # a handout file is at most 1 MiB, plus form overhead
UPLOAD_BODY_CAP = 3 * 1024 * 1024  # a logo is at most 2 MB
PUBLIC_PREFIXES = ("/static/",)  # the app's own CSS, fonts and scripts: no data in them
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
MIN_TOKEN_LENGTH = 16


def new_token() -> str:
    return secrets.token_urlsafe(24)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@dataclass
class Settings:
    token: str
    port: int
    bind: str = "127.0.0.1"
    extra_hosts: Iterable[str] = ()
    secure_cookie: bool = False
    upload_paths: tuple[str, ...] = ()  # path suffixes that take an upload (bigger cap)
    _hosts: set[str] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        hosts = set(LOOPBACK_NAMES) | {h.lower() for h in self.extra_hosts}
        if not is_loopback(self.bind) and self.bind not in ("0.0.0.0", "::"):
            hosts.add(self.bind.lower())
        self._hosts = hosts

    def host_allowed(self, host: str) -> bool:
        name = _hostname(host)
        if name in self._hosts:
            return True
        # Bound to every interface: an address typed as digits cannot be a rebinding attack
        # (that needs a name the attacker controls), so the machine's own addresses work.
        return self.bind in ("0.0.0.0", "::") and _is_ip(name)

    @property
    def cookie_name(self) -> str:
        # Cookies ignore ports: two servers on one machine must not overwrite each other's.
        return f"handouts_session_{self.port}"

    def session_value(self) -> str:
        return hmac.new(self.token.encode(), b"session", hashlib.sha256).hexdigest()

    def csrf_token(self) -> str:
        return hmac.new(self.token.encode(), b"csrf", hashlib.sha256).hexdigest()


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def _cookies(scope: Scope) -> dict[str, str]:
    jar: dict[str, str] = {}
    for part in _header(scope, b"cookie").split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            jar[name] = value
    return jar


class BodyTooLarge(Exception):
    pass


class Guard:
    """ASGI middleware in front of the whole app."""

    def __init__(
        self, app: ASGIApp, settings: Settings, page: Callable[[int, str, str], bytes]
    ) -> None:
        self.app = app
        self.settings = settings
        self.page = page  # (status, title, message) → an HTML page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # the app has none: refuse before anything else
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        s = self.settings

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        if not s.host_allowed(_header(scope, b"host")):
            await self._reply(
                send_with_headers,
                400,
                "Unknown address",
                "This app only answers at the address it printed when it started, such as "
                f"http://127.0.0.1:{s.port}/.",
            )
            return
        path = scope.get("path", "")
        method = scope.get("method", "GET")
        if path.startswith(PUBLIC_PREFIXES) and method in ("GET", "HEAD"):
            await self.app(scope, receive, send_with_headers)
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        given = query.get("token")
        if given is not None and method in ("GET", "HEAD"):
            if hmac.compare_digest(given.encode(), s.token.encode()):
                await self._log_in(scope, query, send_with_headers)
                return
            await self._reply(
                send_with_headers,
                403,
                "Wrong link",
                "This link's token is not the one the "
                "server printed. Copy the whole address from the window where "
                "`handouts serve` runs.",
            )
            return
        if not self._authenticated(scope):
            await self._reply(
                send_with_headers,
                401,
                "Please open the app from its link",
                "Open the address that `handouts serve` printed when it started (it ends "
                "with ?token=...). It lets this browser in; you will not need it again until "
                "the server restarts.",
            )
            return
        if method in UNSAFE_METHODS:
            refusal = self._cross_site(scope)
            if refusal:
                await self._reply(send_with_headers, 403, "Refused", refusal)
                return
            cap = UPLOAD_BODY_CAP if path.endswith(s.upload_paths) else DEFAULT_BODY_CAP
            try:
                body = await self._read_body(scope, receive, cap)
            except BodyTooLarge:
                await self._reply(
                    send_with_headers,
                    413,
                    "Too large",
                    f"What was sent is larger than this app accepts ({cap // (1024 * 1024)} MB).",
                )
                return
            if not self._csrf_ok(scope, body):
                await self._reply(
                    send_with_headers,
                    403,
                    "Please reload the page",
                    "This form is missing its security code, or it is from an old page. "
                    "Reload the page and try again.",
                )
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send_with_headers)

    def _authenticated(self, scope: Scope) -> bool:
        s = self.settings
        value = _cookies(scope).get(s.cookie_name, "")
        if value and hmac.compare_digest(value.encode(), s.session_value().encode()):
            return True
        auth = _header(scope, b"authorization")
        if auth.lower().startswith("bearer "):
            return hmac.compare_digest(auth[7:].strip().encode(), s.token.encode())
        return False

    def _cross_site(self, scope: Scope) -> str:
        site = _header(scope, b"sec-fetch-site")
        if site and site not in ("same-origin", "none"):
            return "Requests from other web sites are not accepted."
        origin = _header(scope, b"origin")
        if origin and origin != "null":
            host = _header(scope, b"host")
            if origin.split("://", 1)[-1].lower() != host.lower():
                return "Requests from other web sites are not accepted."
        return ""

    def _csrf_ok(self, scope: Scope, body: bytes) -> bool:
        expected = self.settings.csrf_token().encode()
        header = _header(scope, b"x-csrf-token")
        if header:
            return hmac.compare_digest(header.encode(), expected)
        kind = _header(scope, b"content-type").split(";")[0].strip().lower()
        if kind == "application/x-www-form-urlencoded":
            fields = parse_qsl(body.decode("latin-1"), max_num_fields=10_000)
            given = next((v for k, v in fields if k == "csrf"), "")
            return hmac.compare_digest(given.encode("latin-1"), expected)
        if kind == "multipart/form-data":
            given = _multipart_field(_header(scope, b"content-type"), body, "csrf")
            return given is not None and hmac.compare_digest(given, expected)
        return False

    async def _read_body(self, scope: Scope, receive: Receive, cap: int) -> bytes:
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > cap:
            raise BodyTooLarge
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                raise BodyTooLarge  # stop reading: the rest is never taken in
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _log_in(self, scope: Scope, query: dict[str, str], send: Send) -> None:
        s = self.settings
        rest = {k: v for k, v in query.items() if k != "token"}
        target = scope.get("path", "/") + (f"?{urlencode(rest)}" if rest else "")
        cookie = f"{s.cookie_name}={s.session_value()}; HttpOnly; SameSite=Strict; Path=/" + (
            "; Secure" if s.secure_cookie else ""
        )
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", target.encode("latin-1")),
                    (b"set-cookie", cookie.encode("latin-1")),
                    (b"cache-control", b"no-store"),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    async def _reply(self, send: Send, status: int, title: str, message: str) -> None:
        body = self.page(status, title, message)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _multipart_field(content_type: str, body: bytes, name: str) -> bytes | None:
    """The value of a plain text field of a multipart body (the CSRF token), or None."""
    boundary = ""
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary:
        return None
    marker = b"--" + boundary.encode("latin-1")
    for section in body.split(marker)[1:]:
        head, sep, value = section.partition(b"\r\n\r\n")
        if not sep:
            continue
        disposition = next(
            (
                line
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-disposition")
            ),
            b"",
        )
        if f'name="{name}"'.encode() in disposition and b"filename=" not in disposition:
            return value[:-2] if value.endswith(b"\r\n") else value
    return None
