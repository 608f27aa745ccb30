"""handouts send: real messages to a real SMTP server on 127.0.0.1 (aiosmtpd), plain and
STARTTLS with a certificate made here (trustme) and a login; the MIME structure, the attached
bytes, the language, what the subject and body do not say, the audit file, idempotency,
header injection, TLS rules, retries and stops, .eml files, and the HTML in a real browser."""

from __future__ import annotations

import base64
import datetime as dt
import email
import hashlib
import io
import json
import os
import shutil
import socket
import stat
import textwrap
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner
from PIL import Image

from handouts.cli import cli
from handouts.errors import HandoutsError
from handouts.send import SendRequest, deliver, load_recipients, prepare
from handouts.send.audit import SECRET, AuditLog, address_hmac, secret_key, timestamp
from handouts.send.recipients import mask, read_csv, scrub, suggest
from handouts.send.sending import RateLimiter

from conftest import LOGO_SVG, Ran

# ---------------------------------------------------------------- a small clinic project

HANDOUT_EN = textwrap.dedent("""\
    id: knee-injections
    language: en
    title: Knee injections with platelet-rich plasma
    subtitle: Questions and answers
    review:
      version: 1
      reviewed_on: 2026-10-01
      reviewed_by: Test team
    questions:
      - question: What is platelet-rich plasma?
        answer: It is a part of your own blood. We put it into the knee.
      - question: Does it hurt?
        answer: Most people feel some pressure for a short time.
    closing:
      heading: Want to learn more?
      text: Call us.
    """)

HANDOUT_ES = textwrap.dedent("""\
    id: knee-injections
    language: es
    title: Inyecciones de plasma rico en plaquetas en la rodilla
    subtitle: Preguntas y respuestas
    review:
      version: 1
      reviewed_on: 2026-10-01
      reviewed_by: Test team
    translation:
      source_language: en
      translated_by: Test team
      translated_on: 2026-10-02
    questions:
      - question: ¿Qué es el plasma rico en plaquetas?
        answer: Es una parte de su propia sangre. La ponemos en la rodilla.
      - question: ¿Duele?
        answer: La mayoría de las personas siente algo de presión por poco tiempo.
    closing:
      heading: ¿Quiere saber más?
      text: Llámenos.
    """)

BRAND = textwrap.dedent("""\
    name: Test Clinic
    logo: logo.svg
    colors:
      primary: "#0B5E6B"
      accent: "#E3A72F"
    contact:
      phone: "(555) 010-0000"
      email: hello@clinic.example.com
      website: https://clinic.example.com
      address: 1 Test Street
    languages: [en, es]
    layouts: [leaflet]
    email:
      from_address: handouts@clinic.example.com
      signature: The care team
    """)

# Words that name the condition or treatment: none may be in a subject or body by default.
CLINICAL = ("knee", "injection", "plasma", "platelet", "rodilla", "inyecci", "plaquetas")
PATIENT = "jane.doe@example.com"


@pytest.fixture(scope="module")
def built_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project above with its PDFs built once; each test works on a copy."""
    root = tmp_path_factory.mktemp("send-base") / "project"
    files = {
        "content/handouts/knee-injections.yaml": HANDOUT_EN,
        "content/handouts/knee-injections.es.yaml": HANDOUT_ES,
        "content/brands/test/brand.yaml": BRAND,
        "content/brands/test/logo.svg": LOGO_SVG,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    ran = invoke("build", "-C", str(root), "-j", "1", "-q")
    assert ran.code == 0, ran
    return root


@pytest.fixture
def project(built_project: Path, tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(built_project, root)
    return root


def configure(root: Path, port: int, **smtp: object) -> None:
    settings = {"host": "127.0.0.1", "port": port, "security": "none", "rate": 6000, **smtp}
    lines = ["smtp:"] + [f"  {key}: {json.dumps(value)}" for key, value in settings.items()]
    (root / "handouts.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def invoke(*args: str, input: str | None = None) -> Ran:
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return Ran(result.exit_code, result.stdout, result.stderr)


def send(root: Path, *args: str, input: str | None = None) -> Ran:
    return invoke("send", "knee-injections", "--brand", "test", "-C", str(root), *args, input=input)


def pdf(root: Path, lang: str = "en") -> bytes:
    return (root / f"output/test/knee-injections.{lang}.leaflet.pdf").read_bytes()


# ---------------------------------------------------------------- the SMTP server


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    login: bytes | None

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=policy.default)


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps what it accepts; ``answers`` are given to DATA in turn
    (then 250), to play a server that defers or refuses."""

    answers: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    ehlo: int = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.ehlo += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):
        reply = self.answers.pop(0) if self.answers else "250 2.0.0 OK"
        self.replies.append(reply)
        if reply.startswith("250"):
            self.received.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    envelope.original_content,
                    server.transport.get_extra_info("ssl_object") is not None,
                    getattr(session.auth_data, "login", None),
                )
            )
        return reply


class _BoundController(Controller):
    """A Controller on a socket bound before it starts: a free port with no race."""

    def __init__(self, handler, sock: socket.socket, **kwargs) -> None:
        self._sock = sock
        port = sock.getsockname()[1]
        # A generous start-up wait: the start is an event, not a sleep, but a loaded machine
        # may take a while to schedule the server's thread.
        super().__init__(handler, hostname="127.0.0.1", port=port, ready_timeout=60, **kwargs)

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)


@pytest.fixture
def smtp_server():
    """``start(recorder, **aiosmtpd options) -> port``; every server stops after the test."""
    started: list[Controller] = []

    def start(recorder: Recorder, **options: object) -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        controller = _BoundController(recorder, sock, **options)
        controller.start()  # returns once the server has answered a real connection
        started.append(controller)
        return sock.getsockname()[1]

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture(scope="module")
def ca():
    import trustme

    return trustme.CA()


def _server_tls(ca) -> object:
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def _authenticator(user: bytes, password: bytes):
    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data == (user, password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return check


def structure(part: EmailMessage, depth: int = 0) -> list[str]:
    lines = ["  " * depth + part.get_content_type()]
    if part.is_multipart():
        for child in part.iter_parts():
            lines += structure(child, depth + 1)
    return lines


def every_file_text(root: Path) -> str:
    """Every file name and the text of every non-PDF file in the project (PDFs as bytes)."""
    chunks = []
    for path in root.rglob("*"):
        chunks.append(str(path.relative_to(root)))
        if path.is_file():
            chunks.append(path.read_bytes().decode("latin-1"))
    return "\n".join(chunks)


# ---------------------------------------------------------------- one message, all of it


def test_one_message_structure_attachment_subject_and_audit(project, smtp_server) -> None:
    server = Recorder()
    configure(project, smtp_server(server))
    ran = send(project, "--to", PATIENT, "--yes")
    assert ran.code == 0, ran
    assert ran.stdout == "sent    j***@e***.com  (--to)  en\n1 sent.\n"
    assert PATIENT not in ran.stdout + ran.stderr

    (got,) = server.received
    assert got.mail_from == "handouts@clinic.example.com"
    assert got.rcpt_tos == [PATIENT]
    message = got.message
    assert structure(message) == [
        "multipart/mixed",
        "  multipart/alternative",
        "    text/plain",
        "    multipart/related",
        "      text/html",
        "      image/png",
        "  application/pdf",
    ]
    assert message["From"] == "Test Clinic <handouts@clinic.example.com>"
    assert message["To"] == PATIENT
    assert message["Reply-To"] == "hello@clinic.example.com"
    assert message["Subject"] == "Information from Test Clinic"
    assert message["Content-Language"] == "en"
    assert message["Message-ID"].endswith("@clinic.example.com>")
    assert message["Date"]

    # The attachment is byte for byte the PDF the build made and recorded.
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == (
        "Knee injections with platelet-rich plasma - Test Clinic.pdf"
    )
    assert attachment.get_content() == pdf(project)
    records = json.loads((project / "output/manifest.json").read_text())["documents"]
    digest = hashlib.sha256(attachment.get_content()).hexdigest()
    assert digest == records["test/knee-injections.en.leaflet.pdf"]["sha256"]

    # Subject and both bodies name no condition or treatment; they say how to reach us.
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for words in (message["Subject"], text, html):
        assert not [w for w in CLINICAL if w in words.lower()], words
    assert "Hello," in text and "(555) 010-0000" in text and "The care team" in text
    assert 'href="tel:5550100000"' in html and '<html lang="en" dir="ltr">' in html

    # The logo is a PNG shown inline through its Content-ID.
    logo = next(p for p in message.walk() if p.get_content_type() == "image/png")
    assert logo.get_content_disposition() == "inline"
    assert f'src="cid:{logo["Content-ID"].strip("<>")}"' in html
    image = Image.open(io.BytesIO(logo.get_content()))
    assert image.format == "PNG" and image.height == 96  # twice its displayed 48 px

    # The audit line: what, when, which file; the address only as an HMAC.
    (line,) = (project / "output/sent.jsonl").read_text().splitlines()
    record = json.loads(line)
    key = secret_key(project, create=False)
    assert record == {
        "time": record["time"],
        "event": "sent",
        "message_id": message["Message-ID"],
        "brand": "test",
        "handout": "knee-injections",
        "language": "en",
        "layout": "leaflet",
        "document": "test/knee-injections.en.leaflet.pdf",
        "pdf_sha256": digest,
        "recipient": address_hmac(key, PATIENT),
    }
    assert stat.S_IMODE((project / SECRET).stat().st_mode) == 0o600
    # No address anywhere on disk: audit, manifest, file names, PDFs, logs.
    on_disk = every_file_text(project)
    assert PATIENT not in on_disk and "jane.doe" not in on_disk


def test_the_secret_is_git_ignored_in_the_repo_and_in_new_projects(tmp_path) -> None:
    from conftest import REPO

    assert "/.handouts-secret" in (REPO / ".gitignore").read_text().splitlines()
    assert invoke("init", str(tmp_path / "clinic")).code == 0
    assert "/.handouts-secret" in (tmp_path / "clinic/.gitignore").read_text().splitlines()


# ---------------------------------------------------------------- languages and the CSV


def test_each_patient_gets_their_language_from_the_csv(project, smtp_server) -> None:
    server = Recorder()
    configure(project, smtp_server(server))
    csv = project.parent / "patients.csv"
    csv.write_text(
        "email,language\n"
        "ana@example.com,es\n"
        "bob@example.org,\n"
        "chloe@example.net,fr\n"
        "dan@example.com,ES-mx\n",
        encoding="utf-8",
    )
    ran = send(project, "--to-file", str(csv), "--yes")
    assert ran.code == 0, ran
    assert (
        "note: patients.csv:4: 'knee-injections' has no French (fr) version for this brand; "
        "sending the English one"
    ) in ran.stderr
    by_address = {r.rcpt_tos[0]: r.message for r in server.received}
    assert sorted(by_address) == [
        "ana@example.com",
        "bob@example.org",
        "chloe@example.net",
        "dan@example.com",
    ]
    spanish = by_address["ana@example.com"]
    assert spanish["Subject"] == "Información de Test Clinic"
    assert spanish["Content-Language"] == "es"
    text = spanish.get_body(("plain",)).get_content()
    assert "Hola:" in text and "Aquí tiene la información que nos pidió." in text
    assert "Hello" not in text
    html = spanish.get_body(("html",)).get_content()
    assert '<html lang="es" dir="ltr">' in html and "¿Tiene preguntas?" in html
    assert next(spanish.iter_attachments()).get_content() == pdf(project, "es")
    assert by_address["dan@example.com"]["Content-Language"] == "es"  # es-MX → es
    for address in ("bob@example.org", "chloe@example.net"):
        assert by_address[address]["Content-Language"] == "en"
        assert next(by_address[address].iter_attachments()).get_content() == pdf(project)
    records = [json.loads(x) for x in (project / "output/sent.jsonl").read_text().splitlines()]
    assert [r["language"] for r in records] == ["es", "en", "en", "es"]
    assert records[2]["language_asked"] == "fr"
    # The CSV is read, never copied: no address and no copy of the file anywhere.
    on_disk = every_file_text(project)
    for address in by_address:
        assert address not in on_disk and address.split("@")[0] not in on_disk
    assert not list(project.rglob("*.csv"))


def test_bad_rows_are_all_reported_with_their_lines_and_nothing_is_sent(
    project, smtp_server
) -> None:
    server = Recorder()
    configure(project, smtp_server(server))
    csv = project.parent / "patients.csv"
    csv.write_text(
        "email,language\nok@example.com,es\nnot-an-address,en\n"
        '"x@example.com\nBcc: y@evil.example",\n'
        "z@example.com,spanish!\n",
        encoding="utf-8",
    )
    ran = send(project, "--to-file", str(csv), "--yes")
    assert ran.code == 1
    assert server.received == [] and server.ehlo == 0
    lines = ran.stderr.splitlines()
    assert lines[0] == (
        "error: patients.csv:3: '***' is not a valid email address: An email address must "
        "have an @-sign. (check it with the patient)"
    )
    assert lines[1] == (
        "error: patients.csv:4: the address contains a line break or control character; it "
        "cannot go in an email header (it could add hidden recipients), so nothing was sent "
        "(remove it and write the value on one line)"
    )
    assert lines[2] == (
        "error: patients.csv:6: 'spanish!' is not a language code (use a code such as en or "
        "es, or leave it empty)"
    )
    assert "evil" not in ran.stderr


def test_a_csv_without_an_email_column_says_how_to_fix_it(project) -> None:
    csv = project.parent / "patients.csv"
    csv.write_text("e-mail,language\na@example.com,es\n", encoding="utf-8")
    configure(project, 25)
    ran = send(project, "--to-file", str(csv), "--yes")
    assert ran.code == 1
    assert ran.stderr == (
        "error: patients.csv:1: the first line must name the columns, one of them 'email' "
        "(did you mean 'email'?)\n"
    )


# ---------------------------------------------------------------- safeguards


def test_the_same_letter_is_not_sent_twice_within_24_hours(project, smtp_server) -> None:
    server = Recorder()
    configure(project, smtp_server(server))
    assert send(project, "--to", PATIENT, "--yes").code == 0
    ran = send(project, "--to", "Jane.Doe@Example.com", "--yes")  # the same person
    assert ran.code == 0, ran
    assert ran.stdout.startswith("skip  J***@e***.com  (--to): already sent 20")
    assert ran.stdout.endswith("; --again sends it anyway\nNothing to send.\n")
    assert len(server.received) == 1
    ran = send(project, "--to", PATIENT, "--yes", "--again")
    assert ran.code == 0 and len(server.received) == 2
    # A letter sent more than 24 hours ago is sent again.
    log = project / "output/sent.jsonl"
    old = timestamp(dt.datetime.now(dt.UTC) - dt.timedelta(hours=25))
    records = [json.loads(x) for x in log.read_text().splitlines()]
    log.write_text("".join(json.dumps(r | {"time": old}) + "\n" for r in records))
    assert send(project, "--to", PATIENT, "--yes").code == 0
    assert len(server.received) == 3
    # A different language is a different document.
    assert send(project, "--to", PATIENT, "--lang", "es", "--yes").code == 0
    assert len(server.received) == 4


def test_header_injection_is_refused_everywhere(project, smtp_server) -> None:
    server = Recorder()
    configure(project, smtp_server(server))
    ran = send(project, "--to", "jane@example.com\r\nBcc: spy@evil.example", "--yes")
    assert ran.code == 1
    assert "error: --to: the address contains a line break" in ran.stderr
    ran = send(project, "--to", "jane@example.com\nBcc: spy@evil.example", "--yes")
    assert ran.code == 1 and "line break" in ran.stderr
    # A brand's own subject with a line break: refused when the brand is loaded.
    brand = project / "content/brands/test/brand.yaml"
    brand.write_text(BRAND + '  subject: "Hello\\r\\nBcc: spy@evil.example"\n', encoding="utf-8")
    ran = send(project, "--to", PATIENT, "--yes")
    assert ran.code == 1
    assert ran.stderr.startswith(
        "error: content/brands/test/brand.yaml:16:12 email.subject: contains an invisible "
        "control character (U+000D carriage return)"
    )
    # A clinic name with a line break would go into From: refused when the message is made.
    brand.write_text(
        BRAND.replace("name: Test Clinic", 'name: "Test Clinic\\nBcc: spy@evil.example"'),
        encoding="utf-8",
    )
    ran = send(project, "--to", PATIENT, "--yes")
    assert ran.code == 1
    assert (
        "error: content/brands/test/brand.yaml:1:7 name: the sender's name contains a line break"
    ) in ran.stderr
    assert server.received == [] and server.ehlo == 0


def test_a_brand_can_choose_its_subject_and_file_name(project, smtp_server) -> None:
    server = Recorder()
    configure(project, smtp_server(server))
    brand = project / "content/brands/test/brand.yaml"
    brand.write_text(
        BRAND
        + "  subject:\n    en: '{clinic}: {title}'\n    es: 'De {clinic}'\n"
        + "  attachment_name: '{clinic} {handout}'\n",
        encoding="utf-8",
    )
    assert invoke("build", "-C", str(project), "-q", "-j", "1").code == 0
    assert send(project, "--to", PATIENT, "--yes").code == 0
    assert send(project, "--to", "ana@example.com", "--lang", "es", "--yes").code == 0
    english, spanish = (r.message for r in server.received)
    assert english["Subject"] == "Test Clinic: Knee injections with platelet-rich plasma"
    assert spanish["Subject"] == "De Test Clinic"
    assert next(english.iter_attachments()).get_filename() == "Test Clinic knee-injections.pdf"
    # The body's heading stays neutral even when the subject names the topic.
    assert "Knee" not in english.get_body(("plain",)).get_content()
    brand.write_text(BRAND + "  subject: 'News about {titel}'\n", encoding="utf-8")
    ran = send(project, "--to", PATIENT, "--yes")
    assert ran.code == 1
    assert "email.subject: has an unknown placeholder {titel}; did you mean 'title'?" in ran.stderr


def test_plain_smtp_to_another_host_is_refused_before_connecting(project) -> None:
    (project / "handouts.yaml").write_text(
        "smtp:\n  host: mail.example.com\n  port: 25\n  security: none\n", encoding="utf-8"
    )
    shutil.rmtree(project / "output")
    ran = send(project, "--to", PATIENT, "--yes")
    assert ran.code == 1
    assert ran.stderr == (
        "error: handouts.yaml:4:13 smtp.security: security: none would send patients' mail "
        "unencrypted to mail.example.com; it is allowed only for localhost. Use starttls or "
        "tls\n"
    )
    assert not (project / "output").exists()  # refused while loading: nothing built or sent


def test_a_password_in_the_settings_file_is_refused(project) -> None:
    (project / "handouts.yaml").write_text(
        "smtp:\n  host: smtp.example.com\n  username: desk\n  password: hunter2\n",
        encoding="utf-8",
    )
    ran = send(project, "--to", PATIENT, "--yes")
    assert ran.code == 1
    assert ran.stderr.startswith(
        "error: handouts.yaml:4:13 smtp.password: a password is never read from handouts.yaml"
    )
    assert "hunter2" not in ran.stderr


def test_starttls_with_login_and_a_verified_certificate(
    project, smtp_server, ca, monkeypatch
) -> None:
    server = Recorder()
    port = smtp_server(
        server,
        tls_context=_server_tls(ca),
        require_starttls=True,
        authenticator=_authenticator(b"desk", b"s3cret pass"),
        auth_required=True,
    )
    ca.cert_pem.write_to_path(str(project / "ca.pem"))
    password = project.parent / "smtp-password"
    password.write_text("s3cret pass\n")
    password.chmod(0o644)
    configure(
        project,
        port,
        security="starttls",
        ca_file="ca.pem",
        username="desk",
        password_file=str(password),
    )
    ran = send(project, "--to", PATIENT, "--yes")
    assert ran.code == 1
    assert ran.stderr == (
        f"error: handouts.yaml smtp.password_file: {password} can be read by other users "
        f"(mode 0644), so it was not used (run: chmod 600 {password})\n"
    )
    password.chmod(0o600)
    ran = send(project, "--to", PATIENT, "--yes")
    assert ran.code == 0, ran
    (got,) = server.received
    assert got.tls and got.login == b"desk"

    # The password from an environment variable; a wrong one stops with a clear message.
    configure(
        project,
        port,
        security="starttls",
        ca_file="ca.pem",
        username="desk",
        password_env="CLINIC_SMTP_PASSWORD",
    )
    monkeypatch.setenv("CLINIC_SMTP_PASSWORD", "wrong")
    ran = send(project, "--to", "other@example.com", "--yes")
    assert ran.code == 1
    assert (
        "FAILED  o***@e***.com  (--to): the mail server refused the user name or password (535"
    ) in ran.stderr
    assert ran.stderr.endswith("0 sent, 1 failed.\n")
    monkeypatch.delenv("CLINIC_SMTP_PASSWORD")
    ran = send(project, "--to", "other@example.com", "--yes")
    assert ran.stderr == (
        "error: handouts.yaml smtp.password_env: the environment variable CLINIC_SMTP_PASSWORD "
        "is not set (set it before sending, e.g. export CLINIC_SMTP_PASSWORD=...)\n"
    )
    assert len(server.received) == 1


def test_implicit_tls(project, smtp_server, ca) -> None:
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = Recorder()
    port = smtp_server(server, ssl_context=context)
    ca.cert_pem.write_to_path(str(project / "ca.pem"))
    configure(project, port, security="tls", ca_file="ca.pem")
    ran = send(project, "--to", PATIENT, "--yes")
    assert ran.code == 0, ran
    assert server.received[0].tls


def test_an_unverifiable_certificate_or_missing_starttls_sends_nothing(
    project, smtp_server, ca
) -> None:
    import trustme

    server = Recorder()
    port = smtp_server(server, tls_context=_server_tls(trustme.CA()), require_starttls=True)
    ca.cert_pem.write_to_path(str(project / "ca.pem"))  # trusts another authority
    configure(project, port, security="starttls", ca_file="ca.pem")
    ran = send(project, "--to", PATIENT, "--yes")
    assert ran.code == 1
    assert (
        f"stopped: the certificate of the mail server 127.0.0.1:{port} could not be verified "
        "(unable to get local issuer certificate), so nothing was sent to it"
    ) in ran.stderr
    plain = Recorder()
    port = smtp_server(plain)
    configure(project, port, security="starttls", ca_file="ca.pem")
    ran = send(project, "--to", PATIENT, "--yes")
    assert ran.code == 1
    assert f"the mail server 127.0.0.1:{port} does not offer STARTTLS" in ran.stderr
    assert server.received == [] and plain.received == []


def test_a_deferral_is_retried_after_a_wait(project, smtp_server) -> None:
    server = Recorder(answers=["451 4.3.0 Try again later"])
    configure(project, smtp_server(server))
    recipients = load_recipients([PATIENT]).recipients
    plan = prepare(project, SendRequest("knee-injections", "test"), recipients)
    waits: list[float] = []
    retried = []
    summary = deliver(
        plan,
        backoff=(7.0, 21.0),
        sleep=waits.append,
        on_retry=lambda d, failure, wait: retried.append((failure.code, wait)),
    )
    assert summary.ok and summary.count("sent") == 1
    assert server.replies == ["451 4.3.0 Try again later", "250 2.0.0 OK"]
    assert retried == [(451, 7.0)] and 7.0 in waits
    assert len(server.received) == 1
    # A server that keeps deferring: the run stops after the last wait, with a summary.
    server.answers = ["451 busy"] * 3
    summary = deliver(
        prepare(
            project,
            SendRequest("knee-injections", "test"),
            load_recipients(["x@example.com"]).recipients,
        ),
        backoff=(1.0, 2.0),
        sleep=lambda s: None,
    )
    assert summary.count("failed") == 1
    assert summary.stopped == "the mail server answered 451 busy (still failing after 3 tries)"


def test_a_refusal_stops_the_run_and_says_what_was_and_was_not_sent(project, smtp_server) -> None:
    server = Recorder(answers=["250 OK", "550 5.1.1 <bob@example.org>: Recipient address rejected"])
    configure(project, smtp_server(server))
    csv = project.parent / "patients.csv"
    csv.write_text("email\nana@example.com\nbob@example.org\nchloe@example.net\n")
    ran = send(project, "--to-file", str(csv), "--yes")
    assert ran.code == 1
    assert ran.stdout == "sent    a***@e***.com  (patients.csv:2)  en\n"
    assert ran.stderr == (
        "FAILED  b***@e***.org  (patients.csv:3): the mail server answered 550 5.1.1 "
        "<b***@e***.org>: Recipient address rejected\n"
        "stopped: the mail server answered 550 5.1.1 <b***@e***.org>: Recipient address "
        "rejected\n"
        "not sent c***@e***.net  (patients.csv:4)\n"
        "Fix the problem and run the same command again: what was sent is skipped.\n"
        "1 sent, 1 failed, 1 not sent.\n"
    )
    assert "bob" not in (project / "output/sent.jsonl").read_text()
    log = (project / "output/sent.jsonl").read_text()
    events = [json.loads(x)["event"] for x in log.splitlines()]
    assert events == ["sent", "failed"]
    # Run again once the server accepts: the first is skipped, the others go.
    ran = send(project, "--to-file", str(csv), "--yes")
    assert ran.code == 0, ran
    assert [r.rcpt_tos[0] for r in server.received] == [
        "ana@example.com",
        "bob@example.org",
        "chloe@example.net",
    ]
    assert "1 skipped" in ran.stdout


def test_eml_files_parse_back_and_nothing_is_sent(project, smtp_server) -> None:
    server = Recorder()
    configure(project, smtp_server(server))
    csv = project.parent / "patients.csv"
    csv.write_text("email,language\nana@example.com,es\nbob@example.org,en\n")
    out = project.parent / "eml"
    ran = send(project, "--to-file", str(csv), "--eml", str(out), "--yes")
    assert ran.code == 0, ran
    assert server.ehlo == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["knee-injections.en.line-3.eml", "knee-injections.es.line-2.eml"]
    spanish_file = out / "knee-injections.es.line-2.eml"
    assert stat.S_IMODE(spanish_file.stat().st_mode) == 0o600
    message = email.message_from_bytes(spanish_file.read_bytes(), policy=policy.default)
    assert message["To"] == "ana@example.com"
    assert message["Subject"] == "Información de Test Clinic"
    assert structure(message)[0] == "multipart/mixed"
    assert next(message.iter_attachments()).get_content() == pdf(project, "es")
    assert "Hola:" in message.get_body(("plain",)).get_content()
    records = [json.loads(x) for x in (project / "output/sent.jsonl").read_text().splitlines()]
    assert [r["event"] for r in records] == ["eml", "eml"]
    # Writing again never overwrites a file.
    assert send(project, "--to-file", str(csv), "--eml", str(out), "--yes").code == 0
    assert len(list(out.iterdir())) == 4


def test_dry_run_shows_masked_recipients_subject_attachment_and_size(project, smtp_server) -> None:
    server = Recorder()
    configure(project, smtp_server(server))
    ran = send(project, "--to", PATIENT, "--to", "sam@gmial.com", "--lang", "es", "--dry-run")
    assert ran.code == 0, ran
    assert ran.stderr == (
        "ask   s***@g***.com  (--to): 'gmial.com' looks like a typo of 'gmail.com'; a real run "
        "asks what to do\n"
    )
    first, line = ran.stdout.splitlines()
    assert first == "Dry run: nothing is sent."
    kb = round(len(pdf(project, "es")) / 1024)
    assert line.startswith(
        "send  j***@e***.com  (--to)  es  subject: Información de Test Clinic  attachment: "
        f"Inyecciones de plasma rico en plaquetas en la rodilla - Test Clinic.pdf ({kb} KB; "
        "message "
    )
    assert PATIENT not in ran.stdout
    assert server.ehlo == 0 and not (project / "output/sent.jsonl").exists()


def test_confirmation_and_likely_typos(project, smtp_server) -> None:
    server = Recorder()
    configure(project, smtp_server(server))
    ran = send(project, "--to", PATIENT, input="n\n")
    assert ran.code == 1
    assert ran.stdout.splitlines() == [
        f"To:         {PATIENT}",
        "Handout:    knee-injections (Test Clinic, leaflet)",
        "Language:   en",
        f"Attachment: Knee injections with platelet-rich plasma - Test Clinic.pdf "
        f"({len(pdf(project)) / 1024:.0f} KB)",
        "Send 1 message(s)? [y/N]: n",
        "Nothing was sent.",
    ]
    ran = send(project, "--to", PATIENT)  # no one to answer (a script without --yes)
    assert ran.code == 1
    assert ran.stderr == "error: no answer to the question (add --yes to send without asking)\n"
    ran = send(project, "--to", "sam@gmial.com", input="fix\ny\n")
    assert ran.code == 0, ran
    assert "--to: s***@g***.com ends in 'gmial.com': did you mean 'gmail.com'?" in ran.stdout
    assert [r.rcpt_tos for r in server.received] == [["sam@gmail.com"]]
    ran = send(project, "--to", "kim@hotmial.com", "--yes")
    assert ran.code == 1
    assert ran.stderr == (
        "skip  k***@h***.com  (--to): 'hotmial.com' looks like a typo of 'hotmail.com'; run "
        "without --yes to decide\nNothing to send.\n"
    )
    assert len(server.received) == 1


def test_was_sent_answers_from_the_audit_file(project, smtp_server) -> None:
    server = Recorder()
    configure(project, smtp_server(server))
    ran = invoke("send", "-C", str(project), "--was-sent", PATIENT)
    assert (ran.code, ran.stdout) == (
        1,
        "Nothing was ever sent from this project (it has no .handouts-secret).\n",
    )
    assert send(project, "--to", PATIENT, "--yes").code == 0
    ran = invoke("send", "-C", str(project), "--was-sent", " JANE.DOE@example.com ")
    assert ran.code == 0
    message_id = server.received[0].message["Message-ID"]
    assert ran.stdout.startswith("sent    20")
    assert ran.stdout.endswith(f"  test/knee-injections.en.leaflet.pdf  Message-ID {message_id}\n")
    ran = invoke("send", "-C", str(project), "--was-sent", "someone@example.com")
    assert (ran.code, ran.stdout) == (
        1,
        "No message to s***@e***.com is recorded in output/sent.jsonl.\n",
    )


def test_only_the_pdf_the_build_recorded_is_attached(project, smtp_server) -> None:
    server = Recorder()
    configure(project, smtp_server(server))
    target = project / "output/test/knee-injections.en.leaflet.pdf"
    genuine = target.read_bytes()
    # Changed on disk: built again before it is attached, never sent as found.
    target.write_bytes(genuine.replace(b"%%EOF", b"%%EOF\n% changed"))
    assert send(project, "--to", PATIENT, "--yes").code == 0
    assert next(server.received[0].message.iter_attachments()).get_content() == genuine
    # A symlink where the PDF was (to identical bytes) is not the file the build wrote: the
    # build replaces the link with the document itself, and that is what is attached.
    elsewhere = project.parent / "copy.pdf"
    elsewhere.write_bytes(genuine.replace(b"%%EOF", b"%%EOF\n% not ours"))
    target.unlink()
    target.symlink_to(elsewhere)
    assert send(project, "--to", "other@example.com", "--yes").code == 0
    assert not target.is_symlink()
    assert next(server.received[1].message.iter_attachments()).get_content() == genuine
    assert b"% not ours" in elsewhere.read_bytes()  # the file elsewhere is untouched


def test_attachment_size_cap(project, smtp_server) -> None:
    server = Recorder()
    configure(project, smtp_server(server), max_attachment_mb=0.01)
    ran = send(project, "--to", PATIENT, "--yes")
    assert ran.code == 1
    assert ran.stderr.startswith(
        "error: output/test/knee-injections.en.leaflet.pdf: is larger than the attachment "
        "limit (0.0 MB)"
    )
    assert server.ehlo == 0


# ---------------------------------------------------------------- pieces


@pytest.mark.parametrize(
    ("address", "meant"),
    [
        ("a@gmial.com", "a@gmail.com"),
        ("a@gmail.con", "a@gmail.com"),
        ("a@gamil.com", "a@gmail.com"),
        ("a@yaho.com", "a@yahoo.com"),
        ("a@hotmial.con", "a@hotmail.com"),
        ("a@outlok.com", "a@outlook.com"),
        ("a@icloud.co", "a@icloud.com"),
        ("a@clinic.example.con", "a@clinic.example.com"),
        ("a@gmail.com", None),
        ("a@aol.com", None),
        ("a@mail.com", None),
        ("a@riverside.example", None),
        ("a@example.com", None),
        ("a@fox.net", None),
    ],
)
def test_likely_typos_of_common_mail_domains(address: str, meant: str | None) -> None:
    assert suggest(address) == meant


def test_masking_and_scrubbing() -> None:
    assert mask("jane.doe@gmail.com") == "j***@g***.com"
    assert mask("x@localhost") == "x***@l***"
    assert scrub("550 <jane@example.org> rejected; cc a.b@c.co.uk") == (
        "550 <j***@e***.org> rejected; cc a***@c***.uk"
    )


def test_rate_limit_spaces_messages_evenly() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(30, clock=lambda: now[0], sleep=sleep)
    limiter.wait()  # the first goes at once
    now[0] += 0.5
    limiter.wait()
    now[0] += 5.0  # a slow message: no wait needed after it
    limiter.wait()
    limiter.wait()
    assert slept == [1.5, 2.0]


def test_the_audit_key_must_be_owner_only(project) -> None:
    key = secret_key(project)
    assert key is not None and len(key) == 32
    assert secret_key(project) == key
    (project / SECRET).chmod(0o644)
    with pytest.raises(Exception, match=r"can be read by other users \(mode 0644\)"):
        secret_key(project)
    log = AuditLog(project / "output")
    (project / "output/sent.jsonl").write_text('not json\n{"event": "sent"}\n[1]\n')
    assert log.records() == [{"event": "sent"}] and log.damaged == 2


# ---------------------------------------------------------------- the HTML in a browser


def _html_with_inline_images(message: EmailMessage) -> str:
    html = message.get_body(("html",)).get_content()
    for part in message.walk():
        if part["Content-ID"]:
            data = base64.b64encode(part.get_content()).decode()
            uri = f"data:{part.get_content_type()};base64,{data}"
            html = html.replace("cid:" + part["Content-ID"].strip("<>"), uri)
    return html


def _luminance(rgb: str) -> float:
    values = [int(x) / 255 for x in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    linear = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in values]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_html_body_fits_a_small_phone_and_reads_in_dark_mode(project, smtp_server, browser) -> None:
    server = Recorder()
    configure(project, smtp_server(server))
    assert send(project, "--to", PATIENT, "--lang", "es", "--yes").code == 0
    html = _html_with_inline_images(server.received[0].message)
    for width in (320, 1024):
        for scheme in ("light", "dark"):
            context = browser.new_context(
                viewport={"width": width, "height": 900}, color_scheme=scheme
            )
            page = context.new_page()
            page.set_content(html, wait_until="load")
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, (width, scheme, scroll)
            logo = page.locator("img").first
            assert logo.evaluate("i => i.complete && i.naturalWidth > 0")
            colours = page.evaluate(
                """() => {
                  const text = document.querySelector('h1');
                  const cell = text.closest('td');
                  const card = cell.closest('table.card');
                  return [getComputedStyle(text).color,
                          getComputedStyle(card).backgroundColor];
                }"""
            )
            light, dark = sorted(_luminance(c) for c in colours)[::-1]
            assert (light + 0.05) / (dark + 0.05) >= 7, (scheme, colours)
            text_is_light = _luminance(colours[0]) > 0.5
            assert text_is_light == (scheme == "dark"), (scheme, colours)
            context.close()


def test_clinic_names_are_text_in_the_subject_and_escaped_in_the_html(project, smtp_server) -> None:
    server = Recorder()
    configure(project, smtp_server(server))
    brand = project / "content/brands/test/brand.yaml"
    brand.write_text(
        BRAND.replace("name: Test Clinic", 'name: "Smith & Jones"\ntagline: "<b>Care</b>"'),
        encoding="utf-8",
    )
    assert send(project, "--to", PATIENT, "--yes").code == 0  # the PDF is rebuilt first
    message = server.received[0].message
    assert message["Subject"] == "Information from Smith & Jones"
    assert message["From"].addresses[0].display_name == "Smith & Jones"
    assert "Information from Smith & Jones" in message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Smith &amp; Jones" in html and "&lt;b&gt;Care&lt;/b&gt;" in html
    assert "<b>Care" not in html


def test_a_draft_is_never_sent(project, smtp_server) -> None:
    server = Recorder()
    configure(project, smtp_server(server))
    settings = project / "handouts.yaml"
    settings.write_text(settings.read_text() + "require_approval: true\n")
    ran = send(project, "--to", PATIENT, "--yes")
    assert ran.code == 1
    assert "is a DRAFT, not approved for patients, so it was not sent" in ran.stderr
    assert "handouts review approve knee-injections" in ran.stderr
    assert server.received == []


def test_a_patients_file_that_is_a_pipe_or_too_large_is_refused_without_reading_it(
    tmp_path: Path,
) -> None:
    """The CSV goes through the project's one bounded reader (files.read_file)."""
    pipe = tmp_path / "patients.csv"
    os.mkfifo(pipe)
    with pytest.raises(HandoutsError, match=r"is not a regular file \(it is a named pipe\)"):
        read_csv(pipe, "patients.csv")  # returns at once: a FIFO is never opened for reading
    big = tmp_path / "big.csv"
    big.write_bytes(b"email\n" + b"a@example.com\n" * 500_000)
    with pytest.raises(HandoutsError, match=r"big.csv: the file is too large .*the limit is 5 MB"):
        read_csv(big, "big.csv")
