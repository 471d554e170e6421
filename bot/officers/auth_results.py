"""What our own receiving server says about a mail: trusted ``Authentication-Results`` and the
envelope sender.

RFC 8601 §5: a consumer reads only the ``Authentication-Results`` headers whose authserv-id is
its own receiving server's (``[office] trusted_authserv_id``), and only those that server added.
Anyone may write such a header into a message before sending it; the receiving server prepends
its own above everything the sender wrote. So only the topmost run of headers carrying the
trusted id counts: the first ``Authentication-Results`` with that id from the top, and the ones
directly below it with the same id (a server writing dkim and dmarc results as separate headers).
Any other header field ends the run; everything below it, whatever its id, is the sender's and
ignored. Within the run, a method's result comes from the topmost header that reports it, so a
sender-written line directly below cannot override the server's verdict. With no trusted id
configured nothing is believed.

The envelope sender is the topmost ``Return-Path`` (written by the final delivery, RFC 5321
§4.4), recorded in the audit; it proves nothing by itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32

FAILING = frozenset({"fail", "softfail", "permerror"})
_COMMENT = re.compile(r"\([^()]*\)")
_RESINFO = re.compile(r"^\s*([A-Za-z][\w-]*)(?:/\d+)?\s*=\s*([A-Za-z]+)(.*)$", re.S)
_PROP = re.compile(r"([A-Za-z][\w-]*\.[A-Za-z][\w.-]*)\s*=\s*(\"[^\"]*\"|[^\s;]+)")


@dataclass(frozen=True)
class Result:
    """One method's result: ``method`` (dkim, spf, dmarc…), ``result`` (pass, fail…), properties
    such as ``header.d`` or ``smtp.mailfrom`` (lower-cased names, values as written)."""

    method: str
    result: str
    props: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Trace:
    """The trusted results (per method, from the topmost header reporting it) and the envelope
    sender (topmost Return-Path without brackets, lower-cased; None when absent)."""

    results: dict[str, list[Result]]
    envelope_sender: str | None


def _unfold(value: object) -> str:
    return " ".join(str(value).split())


def parse_header(value: str) -> tuple[str, list[Result]]:
    """``(authserv-id lower-cased, results)`` of one ``Authentication-Results`` value."""
    text = _unfold(value)
    while _COMMENT.search(text):
        text = _COMMENT.sub(" ", text)
    head, _, rest = text.partition(";")
    authserv = (head.split() or [""])[0].strip().lower()
    results = []
    for resinfo in rest.split(";"):
        m = _RESINFO.match(resinfo)
        if not m:
            continue  # "none", or something we cannot read: it asserts nothing
        props = {k.lower(): v.strip('"') for k, v in _PROP.findall(m.group(3))}
        results.append(Result(m.group(1).lower(), m.group(2).lower(), props))
    return authserv, results


def read_trace(raw: bytes, trusted_authserv_id: str) -> Trace:
    """The receiving server's own verdicts in ``raw`` (see the module doc) and its envelope sender."""
    head = BytesHeaderParser(policy=compat32).parsebytes(raw, headersonly=True)
    trusted = trusted_authserv_id.strip().lower()
    results: dict[str, list[Result]] = {}
    envelope = None
    in_run = done = False
    for name, value in head.items():
        lname = name.lower()
        if lname == "return-path" and envelope is None:
            envelope = _unfold(value).strip("<> ").lower() or ""
        if done or not trusted:
            continue
        if lname == "authentication-results":
            authserv, found = parse_header(str(value))
            if authserv == trusted:
                in_run = True
                by_method: dict[str, list[Result]] = {}
                for r in found:
                    by_method.setdefault(r.method, []).append(r)
                for method, rs in by_method.items():
                    results.setdefault(method, rs)  # the topmost header reporting it wins
                continue
        if in_run:
            done = True  # the run ended: everything below is the sender's
    return Trace(results, envelope)


def authentication_problem(trace: Trace, *, require_pass: bool = False) -> str | None:
    """Why the trusted results forbid executing commands (e.g. ``"dkim=fail"``), or None.

    A dkim, spf or dmarc result in ``FAILING`` refuses; with ``require_pass`` so does a mail
    without a trusted dkim or spf ``pass`` (``"no authentication pass"``).
    """
    for method in ("dkim", "spf", "dmarc"):
        for r in trace.results.get(method, []):
            if r.result in FAILING:
                return f"{method}={r.result}"
    passed = any(r.result == "pass" for m in ("dkim", "spf") for r in trace.results.get(m, []))
    if require_pass and not passed:
        return "no authentication pass"
    return None


def dkim_pass_for(trace: Trace, domain: str) -> bool:
    """True when a trusted dkim result is ``pass`` with a signing domain (``header.d``, or the
    domain of ``header.i``) equal to ``domain``."""
    domain = domain.strip().lower()
    for r in trace.results.get("dkim", []):
        signer = r.props.get("header.d", "") or r.props.get("header.i", "").rpartition("@")[2]
        if r.result == "pass" and signer.strip().lower() == domain:
            return True
    return False
