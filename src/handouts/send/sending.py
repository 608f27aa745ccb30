"""The recipe of ``handouts send``, one line per stage:

    recipients → plan (brand, handout, language per patient, PDFs built and verified, what
    was already sent) → confirm (the caller) → deliver by SMTP, or write .eml files

Each message sent gets its audit line at once, so a run stopped half-way can simply be run
again: what was sent in the last 24 hours is skipped.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from ..api import open_project
from ..errors import HandoutsError, Problem
from ..models import SmtpSettings, did_you_mean
from ..project import LoadedBrand, LoadedHandout, Project
from . import audit
from .document import BuiltDocument, ensure_built
from .message import Sender, attachment_name, compose, sender
from .recipients import Recipient, validate
from .transport import Mailer, SendFailure, check

# Waits before each new try after a "try again later" (4xx) answer or a dropped connection.
DEFAULT_BACKOFF = (10.0, 30.0, 90.0)


@dataclass(frozen=True)
class SendRequest:
    """What to send: one handout of one brand, in one layout."""

    handout: str
    brand: str
    layout: str | None = None  # default: the brand's first layout
    language: str | None = None  # for recipients without a language of their own
    eml_dir: Path | None = None  # write .eml files there instead of sending
    again: bool = False  # send even what was sent to the same address in the last 24 h


@dataclass
class Delivery:
    """One message to one recipient."""

    recipient: Recipient
    handout: LoadedHandout
    document: BuiltDocument
    attachment: str
    note: str = ""  # e.g. the language asked for is not available
    already: dict[str, Any] | None = None  # the audit line of the same letter within 24 h

    @property
    def language(self) -> str:
        return self.handout.language


@dataclass
class Plan:
    root: Path
    out_dir: Path
    project: Project = field(repr=False)
    brand: LoadedBrand = field(repr=False)
    handout: str
    layout: str
    sender: Sender
    deliveries: list[Delivery]
    notes: list[str] = field(default_factory=list)
    smtp: SmtpSettings | None = None
    secret: str | None = field(default=None, repr=False)
    eml_dir: Path | None = None
    again: bool = False
    logo: tuple[bytes, int, int] | None = field(default=None, repr=False)

    @property
    def to_send(self) -> list[Delivery]:
        return [d for d in self.deliveries if self.again or d.already is None]

    def message(self, delivery: Delivery, date: dt.datetime | None = None) -> EmailMessage:
        return compose(
            brand=self.brand,
            handout=delivery.handout,
            document=delivery.document,
            recipient=delivery.recipient.address,
            recipient_where=delivery.recipient.where,
            template_dirs=self.project.template_dirs,
            logo_png=self.logo[0] if self.logo else None,
            logo_size=self.logo[1:] if self.logo else None,
            date=date,
        )


@dataclass
class Outcome:
    delivery: Delivery
    status: str  # sent | written | skipped | failed | not sent
    detail: str = ""  # Message-ID, file name, the server's answer, or why it was skipped


@dataclass
class Summary:
    outcomes: list[Outcome]
    stopped: str = ""  # why sending stopped before the end

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def ok(self) -> bool:
        return not self.stopped and not self.count("failed") and not self.count("not sent")


# ---------------------------------------------------------------- plan


def _refuse_broken(project: Project, kind: str, name: str) -> None:
    """Nothing is sent from a file with errors: show them (other files' errors do not matter
    here)."""
    for broken in project.broken_of(kind).get(name, ()):
        mine = [p for p in project.problems if str(p.path) == broken.display]
        raise HandoutsError(mine or f"{broken.display} has errors; run handouts check")


def _find_brand(project: Project, brand_id: str) -> LoadedBrand:
    _refuse_broken(project, "settings", "settings")
    _refuse_broken(project, "brand", brand_id)
    for brand in project.brands:
        if brand.id == brand_id:
            return brand
    known = [b.id for b in project.brands]
    hint = did_you_mean(brand_id, known) or "known: " + ", ".join(known)
    raise HandoutsError(Problem("--brand", f"there is no brand '{brand_id}'", hint=hint))


def _language_name(code: str) -> str:
    from ..i18n import language_name

    try:
        return language_name(code, "en")
    except Exception:  # an odd code Babel does not know: show the code
        return code


def _choose_language(
    recipient: Recipient, default: str, available: list[str], handout: str
) -> tuple[str, str]:
    """The language a recipient gets, and a note when it is not the one they asked for."""
    wanted = recipient.language
    if not wanted:
        return default, ""
    if wanted in available:
        return wanted, ""
    if wanted.split("-")[0] in available:
        return wanted.split("-")[0], ""
    fallback = available[0]
    return fallback, (
        f"{recipient.where}: '{handout}' has no {_language_name(wanted)} ({wanted}) version "
        f"for this brand; sending the {_language_name(fallback)} one"
    )


def prepare(
    root: Path | str,
    request: SendRequest,
    recipients: list[Recipient],
    *,
    now: dt.datetime | None = None,
) -> Plan:
    """Everything checked and built before anything is sent: the brand, handout and layout,
    each recipient's language, the mail settings and password (unless writing .eml files),
    the PDFs (built if not up to date, verified against the manifest), and what was already
    sent in the last 24 hours."""
    project = open_project(root)
    brand = _find_brand(project, request.brand)
    b = brand.brand
    _refuse_broken(project, "handout", request.handout)
    versions = project.handout_versions(request.handout)
    if not versions:
        known = sorted({h.id for h in project.handouts})
        hint = did_you_mean(request.handout, known) or "known: " + ", ".join(known)
        raise HandoutsError(
            Problem("HANDOUT", f"there is no handout '{request.handout}'", hint=hint)
        )
    if b.handouts != "all" and request.handout not in b.handouts:
        raise HandoutsError(
            brand.problem(
                ("handouts",),
                f"this brand does not print '{request.handout}'",
                "add it to the brand's handouts list, or choose another --brand",
            )
        )
    layout = request.layout or b.layouts[0]
    if layout not in b.layouts:
        hint = did_you_mean(layout, b.layouts) or "this brand prints: " + ", ".join(b.layouts)
        raise HandoutsError(Problem("--layout", f"the brand does not print '{layout}'", hint=hint))
    available = [lang for lang in b.languages if lang in versions]
    if not available:
        raise HandoutsError(
            brand.problem(
                ("languages",),
                f"none of this brand's languages has a version of '{request.handout}'",
                "add the language, or translate the handout",
            )
        )
    if request.language and request.language not in available:
        raise HandoutsError(
            Problem(
                "--lang",
                f"'{request.handout}' is not available in '{request.language}' for this brand",
                hint="available: " + ", ".join(available),
            )
        )
    smtp, secret = (None, None) if request.eml_dir else check(project.settings.smtp, project.root)
    who = sender(brand)
    validate(who.address, _where(brand, "from_address"))  # the same checks as a patient's
    limit_mb = (smtp or project.settings.smtp or SmtpSettings(host="localhost")).max_attachment_mb
    max_bytes = int(limit_mb * 1_000_000)
    default = request.language or available[0]

    out_dir = project.root / "output"
    documents: dict[str, BuiltDocument] = {}
    log = audit.AuditLog(out_dir)
    key = audit.secret_key(project.root, create=False)
    plan = Plan(
        project.root,
        out_dir,
        project,
        brand,
        request.handout,
        layout,
        who,
        [],
        smtp=smtp,
        secret=secret,
        eml_dir=request.eml_dir,
        again=request.again,
    )
    seen: dict[str, str] = {}
    for recipient in recipients:
        if recipient.key in seen:  # a corrected typo can land on an address already listed
            first = seen[recipient.key]
            plan.notes.append(f"{recipient.where}: the same address as {first}; it is sent once")
            continue
        seen[recipient.key] = recipient.where
        language, note = _choose_language(recipient, default, available, request.handout)
        if language not in documents:
            documents[language] = ensure_built(
                project, brand.id, request.handout, language, layout, max_bytes=max_bytes
            )
        already = None
        if key is not None and not request.eml_dir:
            hashed = audit.address_hmac(key, recipient.key)
            already = log.last_sent(documents[language].output, hashed, now)
        plan.deliveries.append(
            Delivery(
                recipient,
                versions[language],
                documents[language],
                attachment_name(brand, versions[language]),
                note,
                already,
            )
        )
        if note:
            plan.notes.append(note)
    if brand.logo:
        from .logo import email_logo

        plan.logo = email_logo(brand.logo)
    return plan


def _where(brand: LoadedBrand, key: str) -> str:
    problem = brand.problem(("email", key), "")
    return f"{problem.location()} email.{key}"


# ---------------------------------------------------------------- deliver


class RateLimiter:
    """At most ``per_minute`` messages a minute, evenly spaced."""

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 60.0 / per_minute
        self.clock, self.sleep = clock, sleep
        self._next: float | None = None

    def wait(self) -> None:
        now = self.clock()
        if self._next is not None and now < self._next:
            self.sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


def _record(plan: Plan, delivery: Delivery, key: bytes, event: str, **extra: Any) -> dict:
    record: dict[str, Any] = {
        "time": audit.timestamp(),
        "event": event,
        "message_id": extra.pop("message_id", None),
        "brand": plan.brand.id,
        "handout": plan.handout,
        "language": delivery.language,
        "layout": plan.layout,
        "document": delivery.document.output,
        "pdf_sha256": delivery.document.sha256,
        "recipient": audit.address_hmac(key, delivery.recipient.key),
    }
    if delivery.recipient.language and delivery.recipient.language != delivery.language:
        record["language_asked"] = delivery.recipient.language
    record.update(extra)
    return record


def deliver(
    plan: Plan,
    *,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_retry: Callable[[Delivery, SendFailure, float], None] | None = None,
    backoff: tuple[float, ...] = DEFAULT_BACKOFF,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Summary:
    """Send the plan's messages, one audit line each. A 4xx answer or a dropped connection is
    tried again after each wait in ``backoff``; a 5xx answer, a refused login or an
    unverifiable certificate stops the run, and the rest are reported as not sent."""
    assert plan.smtp is not None, "deliver needs SMTP settings; use write_eml for .eml files"
    log = audit.AuditLog(plan.out_dir)
    key = audit.secret_key(plan.root)
    assert key is not None
    outcomes: list[Outcome] = []
    stopped = ""

    def done(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)

    limiter = RateLimiter(plan.smtp.rate, clock, sleep)
    with log.lock(), Mailer(plan.smtp, plan.root, plan.secret) as mailer:
        for delivery in plan.deliveries:
            if stopped:
                done(Outcome(delivery, "not sent"))
                continue
            # Checked again under the lock: a run beside this one may have sent it.
            hashed = audit.address_hmac(key, delivery.recipient.key)
            previous = None if plan.again else log.last_sent(delivery.document.output, hashed)
            if previous:
                done(Outcome(delivery, "skipped", f"already sent {previous.get('time', '')}"))
                continue
            message = plan.message(delivery)
            tries = 0
            while True:
                limiter.wait()
                try:
                    mailer.send(message, plan.sender.address, delivery.recipient.address)
                except SendFailure as failure:
                    if failure.transient and tries < len(backoff):
                        if on_retry:
                            on_retry(delivery, failure, backoff[tries])
                        sleep(backoff[tries])
                        tries += 1
                        continue
                    if failure.transient:
                        failure.message += f" (still failing after {tries + 1} tries)"
                    log.append(
                        _record(plan, delivery, key, "failed", message_id=message["Message-ID"])
                        | {"reply": failure.message, "code": failure.code}
                    )
                    done(Outcome(delivery, "failed", str(failure)))
                    stopped = failure.message
                    break
                log.append(_record(plan, delivery, key, "sent", message_id=message["Message-ID"]))
                done(Outcome(delivery, "sent", str(message["Message-ID"])))
                break
    return Summary(outcomes, stopped)


def _eml_name(folder: Path, delivery: Delivery) -> Path:
    """``exosome-therapy.es.eml``, or ``exosome-therapy.es.line-4.eml`` for a CSV row: never
    the address."""
    stem = f"{delivery.handout.id}.{delivery.language}"
    where = delivery.recipient.where
    if ":" in where and where.rsplit(":", 1)[1].isdigit():
        stem += f".line-{where.rsplit(':', 1)[1]}"
    return folder / f"{stem}.eml"


def write_eml(plan: Plan, *, on_outcome: Callable[[Outcome], None] | None = None) -> Summary:
    """Write each message as a .eml file (owner-only: it holds an address) instead of sending;
    an existing file is never overwritten."""
    assert plan.eml_dir is not None
    folder = plan.eml_dir
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise HandoutsError(
            Problem(str(folder), f"cannot create the folder ({exc.strerror})", hint="check it")
        ) from None
    key = audit.secret_key(plan.root)
    assert key is not None
    log = audit.AuditLog(plan.out_dir)
    outcomes: list[Outcome] = []
    with log.lock():
        for delivery in plan.deliveries:
            message = plan.message(delivery)
            target = _eml_name(folder, delivery)
            data = message.as_bytes()
            n = 1
            while True:
                try:
                    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    break
                except FileExistsError:
                    n += 1
                    target = target.with_name(f"{_eml_name(folder, delivery).stem}-{n}.eml")
                except OSError as exc:
                    raise HandoutsError(
                        Problem(str(target), f"cannot write ({exc.strerror})", hint="check it")
                    ) from None
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            log.append(
                _record(plan, delivery, key, "eml", message_id=message["Message-ID"])
                | {"file": target.name}
            )
            outcome = Outcome(delivery, "written", str(target))
            outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
    return Summary(outcomes)


# ---------------------------------------------------------------- was it sent?


def was_sent(root: Path | str, address: str) -> list[dict[str, Any]] | None:
    """The audit lines about ``address`` (matched through its HMAC), oldest first; None when
    the project has no key, i.e. nothing was ever sent from it."""
    root = Path(root).resolve()
    recipient = validate(address, "--was-sent")
    key = audit.secret_key(root, create=False)
    if key is None:
        return None
    return audit.AuditLog(root / "output").find(audit.address_hmac(key, recipient.key))
