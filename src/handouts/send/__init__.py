"""Emailing handouts to patients (``handouts send``), with the safeguards a clinic needs:
checked addresses, a message that names no condition, TLS, a rate limit, no double sends,
and an audit file that holds no address.

Modules, one per stage: recipients (addresses), document (the PDF to attach), message (the
MIME message), transport (SMTP), audit (output/sent.jsonl), sending (the recipe).
"""

from __future__ import annotations

from .document import BuiltDocument, ensure_built
from .recipients import Recipient, RecipientList, load_recipients, mask
from .sending import (
    Delivery,
    Outcome,
    Plan,
    SendRequest,
    Summary,
    deliver,
    prepare,
    was_sent,
    write_eml,
)
from .transport import SendFailure

__all__ = [
    "BuiltDocument",
    "Delivery",
    "Outcome",
    "Plan",
    "Recipient",
    "RecipientList",
    "SendFailure",
    "SendRequest",
    "Summary",
    "deliver",
    "ensure_built",
    "load_recipients",
    "mask",
    "prepare",
    "was_sent",
    "write_eml",
]
