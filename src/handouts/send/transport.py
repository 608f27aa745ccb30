"""SMTP: STARTTLS or TLS with the server's certificate verified (plain only to a mail relay on
this computer), the password from an environment variable or an owner-only file, and every
failure sorted into "try again later" (4xx, a dropped connection) or "stop" (5xx, login,
certificate).

Server replies are passed through ``scrub`` before they are shown: they often quote the
recipient's address.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import socket
import ssl
import stat
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType

from ..errors import HandoutsError, Problem
from ..models import SmtpSettings
from .recipients import scrub

SETTINGS = "handouts.yaml"
MAX_PASSWORD_FILE = 4096


@dataclass
class SendFailure(Exception):
    """A message was not accepted. ``transient`` failures are worth retrying."""

    message: str
    code: int | None = None
    transient: bool = False
    hint: str = ""

    def __str__(self) -> str:
        return self.message + (f" ({self.hint})" if self.hint else "")


# ---------------------------------------------------------------- configuration


def _where(key: str) -> str:
    return f"{SETTINGS} smtp.{key}"


def _resolve(root: Path, name: str) -> Path:
    path = Path(name).expanduser()
    return path if path.is_absolute() else root / path


def password(smtp: SmtpSettings, root: Path) -> str | None:
    """The password, from the environment or an owner-only file; never from the YAML."""
    if smtp.password_env:
        value = os.environ.get(smtp.password_env)
        if not value:
            raise HandoutsError(
                Problem(
                    _where("password_env"),
                    f"the environment variable {smtp.password_env} is not set",
                    hint=f"set it before sending, e.g. export {smtp.password_env}=...",
                )
            )
        return value
    if smtp.password_file:
        return _password_file(_resolve(root, smtp.password_file), smtp.password_file)
    if smtp.username:
        raise HandoutsError(
            Problem(
                _where("username"),
                "a user name is set but no password",
                hint="add password_env (an environment variable's name) or password_file",
            )
        )
    return None


def _password_file(path: Path, shown: str) -> str:
    where = _where("password_file")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise HandoutsError(
            Problem(where, f"cannot open {shown} ({exc.strerror})", hint="check the path")
        ) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise HandoutsError(Problem(where, f"{shown} is not a regular file"))
        if info.st_mode & 0o077:
            raise HandoutsError(
                Problem(
                    where,
                    f"{shown} can be read by other users "
                    f"(mode {stat.S_IMODE(info.st_mode):04o}), so it was not used",
                    hint=f"run: chmod 600 {shown}",
                )
            )
        if info.st_uid != os.getuid():
            raise HandoutsError(
                Problem(
                    where,
                    f"{shown} belongs to another user",
                    hint="keep the password in a file of your own, mode 600",
                )
            )
        data = handle.read(MAX_PASSWORD_FILE + 1)
    text = data.decode("utf-8", errors="strict").rstrip("\r\n") if data else ""
    if not text or len(data) > MAX_PASSWORD_FILE:
        raise HandoutsError(
            Problem(where, f"{shown} does not hold a password", hint="put it on the first line")
        )
    return text


def tls_context(smtp: SmtpSettings, root: Path) -> ssl.SSLContext:
    """Certificates verified and host names checked, TLS 1.2 or later."""
    cafile = None
    if smtp.ca_file:
        path = _resolve(root, smtp.ca_file)
        if not path.is_file():
            raise HandoutsError(
                Problem(_where("ca_file"), f"{smtp.ca_file} does not exist", hint="check the path")
            )
        cafile = str(path)
    try:
        context = ssl.create_default_context(cafile=cafile)
    except ssl.SSLError as exc:
        raise HandoutsError(
            Problem(_where("ca_file"), f"cannot be read as PEM certificates ({exc.reason})")
        ) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def check(smtp: SmtpSettings | None, root: Path) -> tuple[SmtpSettings, str | None]:
    """The settings and password, or a clear error, before any connection is made."""
    if smtp is None:
        raise HandoutsError(
            Problem(
                SETTINGS,
                "there is no smtp: block, so the tool does not know which mail server to use",
                hint="add one (see docs/sending-to-patients.md), or write .eml files with --eml",
            )
        )
    if smtp.security == "none" and not smtp.loopback:  # the model refuses it; belt and braces
        raise HandoutsError(
            Problem(_where("security"), "unencrypted mail is allowed only to localhost")
        )
    secret = password(smtp, root)
    if secret is not None and not smtp.username:
        raise HandoutsError(
            Problem(_where("username"), "a password is set but no user name", hint="add it")
        )
    if smtp.security != "none":
        tls_context(smtp, root)
    return smtp, secret


# ---------------------------------------------------------------- the connection


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else ""
    return scrub(f"{exc.smtp_code} {' '.join(text.split())}".strip())


class Mailer:
    """One connection to the mail server, opened on first use and again after a drop."""

    def __init__(self, smtp: SmtpSettings, root: Path, secret: str | None) -> None:
        self.smtp = smtp
        self.root = root
        self._secret = secret
        self._conn: smtplib.SMTP | None = None
        self.sessions = 0  # connections opened and logged in

    def __enter__(self) -> Mailer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def address(self) -> str:
        return f"{self.smtp.host}:{self.smtp.effective_port}"

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()

    def _open(self) -> smtplib.SMTP:
        smtp, host, port = self.smtp, self.smtp.host, self.smtp.effective_port
        # No DNS look-up of our own name (getfqdn): the machine may not have one.
        local = socket.gethostname() or "localhost"
        context = tls_context(smtp, self.root) if smtp.security != "none" else None
        conn: smtplib.SMTP | None = None
        try:
            if smtp.security == "tls":
                conn = smtplib.SMTP_SSL(
                    host, port, local_hostname=local, timeout=smtp.timeout, context=context
                )
            else:
                conn = smtplib.SMTP(host, port, local_hostname=local, timeout=smtp.timeout)
            conn.ehlo()
            if smtp.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise SendFailure(
                        f"the mail server {self.address} does not offer STARTTLS, so nothing "
                        "was sent unencrypted",
                        hint="use security: tls if it listens for TLS, or ask its "
                        "administrator to turn STARTTLS on",
                    )
                conn.starttls(context=context)
                conn.ehlo()
            if smtp.username:
                conn.login(smtp.username, self._secret or "")
            self.sessions += 1
        except SendFailure:
            _drop(conn)
            raise
        except ssl.SSLCertVerificationError as exc:
            _drop(conn)
            raise SendFailure(
                f"the certificate of the mail server {self.address} could not be verified "
                f"({exc.verify_message or exc.reason}), so nothing was sent to it",
                hint="check smtp.host is the name on the server's certificate; for a private "
                "certificate authority give its certificate with smtp.ca_file",
            ) from None
        except ssl.SSLError as exc:
            _drop(conn)
            raise SendFailure(
                f"a secure connection to {self.address} failed ({exc.reason})",
                hint="check smtp.security: starttls usually goes with port 587, tls with 465",
            ) from None
        except smtplib.SMTPAuthenticationError as exc:
            _drop(conn)
            raise SendFailure(
                f"the mail server refused the user name or password ({_reply(exc)})",
                exc.smtp_code,
                hint="check smtp.username and the password",
            ) from None
        except smtplib.SMTPNotSupportedError:
            _drop(conn)
            raise SendFailure(
                f"the mail server {self.address} does not accept a login on this connection",
                hint="remove smtp.username, or use starttls or tls",
            ) from None
        except smtplib.SMTPResponseException as exc:
            _drop(conn)
            raise SendFailure(
                f"the mail server {self.address} answered {_reply(exc)}",
                exc.smtp_code,
                transient=400 <= exc.smtp_code < 500,
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            _drop(conn)
            raise SendFailure(
                f"cannot reach the mail server {self.address} ({_os_reason(exc)})",
                transient=self.sessions > 0,  # it worked before: worth another try
                hint="check smtp.host and smtp.port, and the network",
            ) from None
        return conn

    def send(self, message: EmailMessage, sender: str, recipient: str) -> None:
        """Hand ``message`` to the server for ``recipient``; raise SendFailure if refused."""
        if self._conn is None:
            self._conn = self._open()
        try:
            self._conn.send_message(message, from_addr=sender, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()), (550, b""))
            self._fail(smtplib.SMTPResponseException(code, text))
        except smtplib.SMTPResponseException as exc:
            self._fail(exc)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._conn = None
            raise SendFailure(
                f"the connection to {self.address} was lost ({_os_reason(exc)})", transient=True
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise SendFailure(
                "the address needs a mail server that accepts international addresses "
                "(SMTPUTF8), and this one does not",
                hint="ask the patient for another address",
            ) from None

    def _fail(self, exc: smtplib.SMTPResponseException) -> None:
        code = exc.smtp_code
        transient = 400 <= code < 500
        if code == 421 or not transient:
            self.close()  # 421: the server is closing the connection
        raise SendFailure(
            f"the mail server answered {_reply(exc)}", code, transient=transient
        ) from None


def _drop(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(OSError):
            conn.close()


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return "the name was not found"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "no answer in time"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return scrub(str(exc)) or type(exc).__name__
