"""A corpus of nasty inbound messages, built in code.

Each entry is something a real mailbox receives sooner or later: broken
MIME, unknown charsets, raw 8-bit headers, missing or garbage headers, huge
or deeply nested bodies, and things that are not mail at all. The parser
must read each of them or reject it with a reason; the end-to-end tests
append every entry to a real IMAP server and check that each one ends up in
a ticket or in quarantine, and that the daemon keeps going.

Everything is deterministic (no clock, no unseeded randomness), so a failure
can be reproduced byte for byte.
"""

from __future__ import annotations

import base64
import functools
import random

# Headers shared by most entries; each entry adds what makes it nasty.
_FROM = b"From: Zoe Martin <zoe@example.org>\r\n"
_TO = b"To: Acme Support <support@acme.example>\r\n"
_DATE = b"Date: Tue, 14 May 2024 09:12:00 +0200\r\n"
_MIME = b"MIME-Version: 1.0\r\n"

# Size of the big attachment, before base64.
HUGE_ATTACHMENT_SIZE = 20 * 1024 * 1024


def _head(name: str, *extra: bytes, date: bool = True, sender: bool = True) -> bytes:
    """Common headers with a Message-ID and Subject naming the entry."""
    lines = [_FROM if sender else b"", _TO, _DATE if date else b""]
    lines.append(f"Subject: malformed {name}\r\n".encode())
    lines.append(f"Message-ID: <malformed-{name}@example.org>\r\n".encode())
    return b"".join(lines) + b"".join(extra)


def _base64_lines(data: bytes) -> bytes:
    """Base64 with 76-character lines, as MIME requires."""
    encoded = base64.b64encode(data)
    return b"\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76)) + b"\r\n"


def _broken_boundary() -> bytes:
    """The declared boundary never occurs; the body uses another one."""
    return _head("broken-boundary", _MIME) + (
        b'Content-Type: multipart/mixed; boundary="declared-AAA"\r\n\r\n'
        b"--actual-BBB\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        b"The boundary in my headers is wrong, but please read this anyway.\r\n"
        b"--actual-BBB\r\n"
        b'Content-Type: application/pdf; name="order.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        b"JVBERi0xLjQKJeLjz9MK\r\n"
        b"--actual-BBB--\r\n"
    )


def _missing_closing_boundary() -> bytes:
    """A multipart whose closing delimiter is missing (truncated sender)."""
    return _head("missing-closing-boundary", _MIME) + (
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        b"My order arrived without the manual.\r\n"
        b"--b1\r\n"
        b'Content-Type: image/jpeg; name="box.jpg"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        b"/9j/4AAQSkZJRgABAQAAAQABAAD/\r\n"
    )


def _no_boundary_parameter() -> bytes:
    """A multipart Content-Type without any boundary parameter."""
    return _head("no-boundary-parameter", _MIME) + (
        b"Content-Type: multipart/alternative\r\n\r\n"
        b"Plain words where MIME parts were promised.\r\n"
    )


def _unknown_charset() -> bytes:
    """Body and subject in a charset nobody knows, with 8-bit bytes."""
    return (
        _FROM
        + _TO
        + _DATE
        + b"Subject: =?x-unknown-42?Q?Caf=C3=A9_order?=\r\n"
        + b"Message-ID: <malformed-unknown-charset@example.org>\r\n"
        + _MIME
        + b'Content-Type: text/plain; charset="x-unknown-42"\r\n'
        + b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        + "The café order for Zoë is late.\r\n".encode()
    )


def _raw_8bit_latin1_headers() -> bytes:
    """Headers with raw ISO-8859-1 bytes instead of encoded-words."""
    return (
        "From: Zoë Müller <zoe.mueller@example.org>\r\n"
        "To: support@acme.example\r\n"
        "Subject: Rückerstattung für Bestellung 17\r\n"
        "Message-ID: <malformed-raw-latin1@example.org>\r\n"
        "Date: Tue, 14 May 2024 09:12:00 +0200\r\n"
        "\r\n"
        "Bitte um Rückerstattung.\r\n"
    ).encode("latin-1")


def _raw_8bit_utf8_headers() -> bytes:
    """Headers with raw UTF-8 bytes instead of encoded-words."""
    return (
        "From: 张伟 <zhang.wei@example.cn>\r\n"
        "To: support@acme.example\r\n"
        "Subject: 订单 42 的问题 🙂\r\n"
        "Message-ID: <malformed-raw-utf8@example.org>\r\n"
        "Date: Tue, 14 May 2024 09:12:00 +0800\r\n"
        "\r\n"
        "你好\uff0c我的订单还没有到。\r\n"
    ).encode()


def _nested(depth: int, name: str) -> bytes:
    """A message with ``depth`` multiparts nested inside each other."""
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary="n%d"\r\n\r\n--n%d\r\n' % (level, level)
        for level in range(depth)
    )
    leaf = b"Content-Type: text/plain\r\n\r\nDeep down here.\r\n"
    closing = b"".join(b"--n%d--\r\n" % level for level in reversed(range(depth)))
    return _head(name, _MIME) + opening + leaf + closing


def _malformed_encoded_words() -> bytes:
    """Encoded-words with bad base64, bad escapes and unknown encodings."""
    return (
        b"From: =?utf-8?B?Wm/DqyBN*YXJ0aW4?= <zoe@example.org>\r\n"
        + _TO
        + _DATE
        + b"Subject: =?utf-8?B?not-base64!?= =?utf-8?Q?bad=ZZescape?= =?utf-8?X?what?="
        b" =?utf-8?Q?unterminated\r\n"
        + b"Message-ID: <malformed-encoded-words@example.org>\r\n"
        + b"\r\n"
        + b"Subject line is a mess.\r\n"
    )


def _very_long_header_line() -> bytes:
    """A subject of 100,000 characters on one line, and a long custom header."""
    subject = b"Subject: " + b"refund " * 14_286 + b"\r\n"
    custom = b"X-Tracking: " + b"x" * 200_000 + b"\r\n"
    return (
        _FROM
        + _TO
        + _DATE
        + subject
        + custom
        + b"Message-ID: <malformed-long-header@example.org>\r\n\r\n"
        + b"Long headers above.\r\n"
    )


def _huge_attachment() -> bytes:
    """A 20 MB attachment (repeatable pattern), base64-encoded."""
    pattern = bytes(range(256)) * 1024
    data = pattern * (HUGE_ATTACHMENT_SIZE // len(pattern))
    return _head("huge-attachment", _MIME) + (
        b'Content-Type: multipart/mixed; boundary="big"\r\n\r\n'
        b"--big\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        b"The log file you asked for is attached.\r\n"
        b"--big\r\n"
        b'Content-Type: application/octet-stream; name="server.log"\r\n'
        b'Content-Disposition: attachment; filename="server.log"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + _base64_lines(data) + b"--big--\r\n"
    )


def _truncated_base64() -> bytes:
    """An attachment cut off in the middle of its base64 text."""
    return _head("truncated-base64", _MIME) + (
        b'Content-Type: multipart/mixed; boundary="t"\r\n\r\n'
        b"--t\r\n"
        b"Content-Type: text/plain\r\n\r\n"
        b"Photo attached.\r\n"
        b"--t\r\n"
        b'Content-Type: image/png; name="photo.png"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        b"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADU"
    )


def malformed_messages() -> dict[str, bytes]:
    """Name -> raw bytes of every nasty message in the corpus.

    Built once and cached (the big attachment takes a moment to encode);
    each call returns a new dict of the same immutable bytes.
    """
    return dict(_corpus())


@functools.cache
def _corpus() -> tuple[tuple[str, bytes], ...]:
    """The corpus as an immutable, cached sequence of pairs."""
    noise = random.Random(20240514).randbytes(8192)
    entries = {
        "broken_boundary": _broken_boundary(),
        "missing_closing_boundary": _missing_closing_boundary(),
        "no_boundary_parameter": _no_boundary_parameter(),
        "unknown_charset": _unknown_charset(),
        "raw_8bit_latin1_headers": _raw_8bit_latin1_headers(),
        "raw_8bit_utf8_headers": _raw_8bit_utf8_headers(),
        "empty_body": _head("empty-body") + b"\r\n",
        "no_body_at_all": _head("no-body-at-all"),
        "missing_message_id": _FROM + _TO + _DATE + b"Subject: no id\r\n\r\nWho am I?\r\n",
        "missing_date": _head("missing-date", date=False) + b"\r\nWhen was this sent?\r\n",
        "missing_from": _head("missing-from", sender=False) + b"\r\nAnonymous words.\r\n",
        "garbage_date": (
            _FROM
            + _TO
            + b"Date: the day after yesterday, around noon-ish\r\n"
            + b"Subject: malformed garbage-date\r\n"
            + b"Message-ID: <malformed-garbage-date@example.org>\r\n\r\n"
            + b"Date is nonsense.\r\n"
        ),
        "huge_attachment_20mb": _huge_attachment(),
        "deeply_nested_multipart": _nested(60, "deeply-nested"),
        "absurdly_nested_multipart": _nested(5000, "absurdly-nested"),
        "malformed_encoded_words": _malformed_encoded_words(),
        "very_long_header_line": _very_long_header_line(),
        "nul_byte_in_body": _head("nul-byte") + b"\r\nBefore\x00after the NUL byte.\r\n",
        "truncated_base64": _truncated_base64(),
        "lf_only_line_endings": (
            b"From: zoe@example.org\nTo: support@acme.example\nSubject: unix newlines\n"
            b"Message-ID: <malformed-lf@example.org>\n\nOnly LF here.\n"
        ),
        "headers_only_no_sender": b"Subject: nobody\r\nMessage-ID: <malformed-nobody@x>\r\n\r\n",
        "plain_text_not_email": b"Dear diary,\r\n\r\ntoday I wrote no e-mail at all.\r\n",
        "random_binary": b"\x89\x00\xff" + noise,
        "empty_file": b"",
    }
    return tuple(entries.items())
