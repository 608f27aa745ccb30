"""Patients' addresses: from ``--to`` or a CSV file, validated without any DNS look-up, checked
for likely misspellings of common mail domains, and masked wherever they are shown.

The CSV file is only read, never copied; an address is never written to a log or file name.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import HandoutsError, Problem
from ..files import read_file

MAX_CSV_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
_LANG = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$")
# Line breaks and other control characters: in a header they could add hidden recipients.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")
_ADDRESS_LIKE = re.compile(r"[^\s<>\"'(),;:@\[\]]+@[^\s<>\"'(),;:@\[\]]+")

# Mail services many patients use; an address one or two letters away from one of these is
# probably a typo (gmial.com). Short names (aol.com, me.com) are left out: too many real
# domains are one letter away from them.
COMMON_DOMAINS = (
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "ymail.com",
    "rocketmail.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "icloud.com",
    "comcast.net",
    "sbcglobal.net",
    "bellsouth.net",
    "verizon.net",
    "charter.net",
    "earthlink.net",
    "protonmail.com",
    "proton.me",
    "mail.com",
    "hotmail.es",
    "yahoo.es",
    "outlook.es",
    "yahoo.com.mx",
    "hotmail.co.uk",
    "yahoo.co.uk",
    "btinternet.com",
    "yahoo.ca",
    "hotmail.ca",
    "rogers.com",
    "bigpond.com",
)
_SHORT = frozenset(("aol.com", "me.com", "mac.com", "msn.com", "att.net", "cox.net", "gmx.com"))
_TLD_TYPOS = {
    "con": "com",
    "cpm": "com",
    "vom": "com",
    "xom": "com",
    "cim": "com",
    "comm": "com",
    "cmo": "com",
    "ocm": "com",
    "nte": "net",
    "ent": "net",
    "met": "net",
    "nett": "net",
    "ogr": "org",
    "prg": "org",
    "orh": "org",
}


@dataclass(frozen=True)
class Recipient:
    """One patient's address, validated and normalised (domain lower-cased)."""

    address: str
    where: str  # "--to" or "patients.csv:4": how to point at it without showing it
    language: str | None = None  # the language asked for in the CSV, if any
    suggestion: str | None = None  # the address probably meant, when the domain looks misspelt

    @property
    def masked(self) -> str:
        return mask(self.address)

    @property
    def key(self) -> str:
        """The form compared and hashed for the audit: case does not make another person."""
        return self.address.lower()

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]

    def corrected(self) -> Recipient:
        """This recipient at the suggested address."""
        assert self.suggestion
        return replace(self, address=self.suggestion, suggestion=None)


@dataclass
class RecipientList:
    recipients: list[Recipient] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # duplicates dropped, and similar


# ---------------------------------------------------------------- masking


def mask(address: str) -> str:
    """``jane.doe@gmail.com`` → ``j***@g***.com``: enough to tell two apart on screen, not
    enough to write to someone."""
    local, _, domain = address.rpartition("@")
    if not local:
        return "***"
    name, dot, tld = domain.rpartition(".")
    shown_domain = f"{name[:1]}***{dot}{tld}" if name else f"{domain[:1]}***"
    return f"{local[:1]}***@{shown_domain}"


def scrub(text: str) -> str:
    """``text`` (a server's reply, an error) with every address in it masked."""
    return _ADDRESS_LIKE.sub(lambda m: mask(m.group(0)), text)


# ---------------------------------------------------------------- header safety


def refuse_unsafe(value: str, where: str, what: str) -> str:
    """Refuse line breaks and control characters, which could add headers or recipients."""
    if _UNSAFE.search(value):
        raise HandoutsError(
            Problem(
                where,
                f"the {what} contains a line break or control character; it cannot go in an "
                "email header (it could add hidden recipients), so nothing was sent",
                hint="remove it and write the value on one line",
            )
        )
    return value


# ---------------------------------------------------------------- validation


def _validator():
    try:
        import email_validator
    except ImportError:
        raise HandoutsError(
            Problem(
                "handouts send",
                "checking addresses needs the email-validator package",
                hint="install the send extra: pip install 'handouts[send]'",
            )
        ) from None
    return email_validator


def validate(raw: str, where: str, language: str | None = None) -> Recipient:
    """One address, checked for syntax only (deliverability off: no DNS look-up)."""
    text = raw.strip()
    refuse_unsafe(text, where, "address")
    if not text:
        raise HandoutsError(Problem(where, "the email address is empty", hint="fill it in"))
    ev = _validator()
    try:
        checked = ev.validate_email(text, check_deliverability=False)
    except ev.EmailNotValidError as exc:
        raise HandoutsError(
            Problem(
                where,
                f"'{mask(text)}' is not a valid email address: {scrub(str(exc))}",
                hint="check it with the patient",
            )
        ) from None
    recipient = Recipient(checked.normalized, where, language)
    return replace(recipient, suggestion=suggest(recipient.address))


def _distance(a: str, b: str) -> int:
    """Optimal string alignment distance: a swap of two neighbours counts as one edit."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def suggest(address: str) -> str | None:
    """The address probably meant when the domain looks like a misspelt common mail domain
    (``gmial.com`` → ``gmail.com``, ``gmail.con`` → ``gmail.com``), else None."""
    local, _, domain = address.rpartition("@")
    domain = domain.lower()
    if domain in COMMON_DOMAINS or domain in _SHORT:
        return None
    best, best_distance = None, 3
    for known in COMMON_DOMAINS:
        limit = 2 if len(known) >= 10 else 1
        distance = _distance(domain, known)
        if distance <= limit and distance < best_distance:
            best, best_distance = known, distance
    if best is None:
        name, dot, tld = domain.rpartition(".")
        if dot and tld in _TLD_TYPOS:
            best = f"{name}.{_TLD_TYPOS[tld]}"
    return f"{local}@{best}" if best else None


def _language(value: str, where: str) -> str | None:
    code = value.strip().lower().replace("_", "-")
    if not code:
        return None
    if not _LANG.fullmatch(code):
        raise HandoutsError(
            Problem(
                where,
                f"'{value.strip()}' is not a language code",
                hint="use a code such as en or es, or leave it empty",
            )
        )
    return code


# ---------------------------------------------------------------- reading


def read_csv(path: Path, display: str | None = None) -> list[Recipient]:
    """Recipients from a CSV file with an ``email`` column and an optional ``language`` one.
    Every problem in the file is reported at once, each with its line."""
    display = display or str(path)
    # a regular file only (never a FIFO or device), read up to the cap and no further
    data = read_file(path, limit=MAX_CSV_BYTES, display=display)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise HandoutsError(
            Problem(
                display,
                "is not UTF-8 text",
                line,
                hint="save it again as 'CSV UTF-8' from your spreadsheet program",
            )
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        header = []
    columns = [name.strip().lower() for name in header]
    if "email" not in columns:
        from ..models import did_you_mean

        close = next((hint for c in columns if (hint := did_you_mean(c, ["email"]))), "")
        raise HandoutsError(
            Problem(
                display,
                "the first line must name the columns, one of them 'email'",
                1,
                hint=close or "add a first line such as: email,language",
            )
        )
    email_at = columns.index("email")
    language_at = columns.index("language") if "language" in columns else None
    found: list[Recipient] = []
    problems: list[Problem] = []
    start = reader.line_num + 1
    try:
        for row in reader:
            where, start = f"{display}:{start}", reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if len(found) + len(problems) >= MAX_ROWS:
                problems.append(Problem(display, f"has more than {MAX_ROWS} rows", hint="split it"))
                break
            raw = row[email_at] if email_at < len(row) else ""
            lang = row[language_at] if language_at is not None and language_at < len(row) else ""
            try:
                found.append(validate(raw, where, _language(lang, where)))
            except HandoutsError as exc:
                problems.extend(exc.problems)
    except csv.Error as exc:
        problems.append(
            Problem(display, f"cannot be read as CSV ({exc})", reader.line_num, hint="fix the line")
        )
    if problems:
        raise HandoutsError(problems)
    if not found:
        raise HandoutsError(
            Problem(display, "has no addresses", hint="add one address per line under 'email'")
        )
    return found


def load_recipients(
    to: tuple[str, ...] | list[str] = (), to_file: Path | None = None
) -> RecipientList:
    """Every recipient named on the command line and in the file, validated; the same
    address twice is sent once (a note says which line was dropped)."""
    problems: list[Problem] = []
    found: list[Recipient] = []
    for raw in to:
        try:
            found.append(validate(raw, "--to"))
        except HandoutsError as exc:
            problems.extend(exc.problems)
    if to_file is not None:
        try:
            found.extend(read_csv(to_file, to_file.name))
        except HandoutsError as exc:
            problems.extend(exc.problems)
    if problems:
        raise HandoutsError(problems)
    result = RecipientList()
    seen: dict[str, Recipient] = {}
    for recipient in found:
        first = seen.setdefault(recipient.key, recipient)
        if first is not recipient:
            result.notes.append(
                f"{recipient.where}: the same address as {first.where}; it is sent once"
            )
            continue
        result.recipients.append(recipient)
    return result
