"""Parsing inbound mail: realistic messages, nasty messages, arbitrary bytes."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk.errors import MessageRejected
from helpdesk.intake.headers import Address
from helpdesk.intake.message import InboundMessage, parse_message
from helpdesk.intake.mimeparts import Attachment
from tests.malformed import HUGE_ATTACHMENT_SIZE, malformed_messages


def eml(text: str) -> bytes:
    """A message written with ``\\n`` line ends, sent with CRLF as on the wire."""
    return text.replace("\n", "\r\n").encode("utf-8")


def b64(data: bytes) -> str:
    """Base64 in 76-character lines."""
    encoded = base64.b64encode(data).decode()
    return "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------
# Realistic messages
# ---------------------------------------------------------------------------

GMAIL_REPLY = eml(
    """\
Delivered-To: support@acme.example
Received: by 2002:a05:6a10:8d0e:b0:4c1:2f4e:9a3b with SMTP id jq14csp1234567pxb;
        Tue, 14 May 2024 00:12:05 -0700 (PDT)
Authentication-Results: mx.acme.example;
       dkim=pass header.i=@example.com header.s=20230601 header.b=AbCdEf12;
       spf=pass (acme.example: domain of zoe@example.com designates 209.85.220.41 as permitted sender)
        smtp.mailfrom=zoe@example.com
MIME-Version: 1.0
References: <ticket-42.1@acme.example>
 <ticket-42.2@acme.example>
In-Reply-To: <ticket-42.2@acme.example>
From: =?UTF-8?Q?Zo=C3=AB_Martin?= <Zoe.Martin@Example.com>
Date: Tue, 14 May 2024 09:12:00 +0200
Message-ID: <CAF7pQ+x=1a2B3c4D5e6F7g8H9i0J@mail.gmail.com>
Subject: =?UTF-8?Q?Re=3A_=5B=2342=5D_My_vase_arrived_broken?=
To: Acme Support <support+t42.abcdef@acme.example>
Cc: "Martin, Paul" <paul@example.com>
Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f6"

--000000000000a1b2c3d4e5f6
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

Hi,

it is still broken, the second one too. Could you refund me instead?=20

Zo=C3=AB

On Mon, 13 May 2024 at 18:00, Acme Support <support@acme.example> wrote:

> We are sorry! A replacement is on its way.
>
> Acme
>

--000000000000a1b2c3d4e5f6
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<div dir=3D"ltr"><div>Hi,</div><div><br></div><div>it is still broken, the=
 second one too. Could you refund me instead?</div><div><br></div><div>Zo=
=C3=AB</div></div><br><div class=3D"gmail_quote"><div dir=3D"ltr" class=3D=
"gmail_attr">On Mon, 13 May 2024 at 18:00, Acme Support &lt;<a href=3D"mail=
to:support@acme.example">support@acme.example</a>&gt; wrote:<br></div><bloc=
kquote class=3D"gmail_quote">We are sorry! A replacement is on its way.<br>=
<br>Acme</blockquote></div>

--000000000000a1b2c3d4e5f6--
"""
)


def test_gmail_reply_every_field() -> None:
    message = parse_message(GMAIL_REPLY)
    assert message.message_id == "CAF7pQ+x=1a2B3c4D5e6F7g8H9i0J@mail.gmail.com"
    assert not message.message_id_synthesized
    assert message.in_reply_to == "ticket-42.2@acme.example"
    assert message.references == ("ticket-42.1@acme.example", "ticket-42.2@acme.example")
    assert message.sender == Address("Zoë Martin", "zoe.martin@example.com")
    assert message.to == (Address("Acme Support", "support+t42.abcdef@acme.example"),)
    assert message.cc == (Address("Martin, Paul", "paul@example.com"),)
    assert message.reply_to == ()
    assert message.delivered_to == ("support@acme.example",)
    assert message.subject == "Re: [#42] My vase arrived broken"
    assert message.date == datetime(2024, 5, 14, 7, 12, tzinfo=UTC)
    assert message.full_text == (
        "Hi,\n\nit is still broken, the second one too. Could you refund me instead?\n\n"
        "Zoë\n\n"
        "On Mon, 13 May 2024 at 18:00, Acme Support <support@acme.example> wrote:\n\n"
        "> We are sorry! A replacement is on its way.\n>\n> Acme\n>"
    )
    assert message.text == (
        "Hi,\n\nit is still broken, the second one too. Could you refund me instead?\n\nZoë"
    )
    assert message.attachments == ()
    assert (message.auto_submitted, message.is_bounce, message.is_bulk) == (False, False, False)
    assert message.automatic_reason is None
    assert not message.is_automatic
    assert len(message.authentication_results) == 1
    assert message.authentication_results[0].startswith("mx.acme.example; dkim=pass")
    assert "spf=pass" in message.authentication_results[0]
    assert "\n" not in message.authentication_results[0]
    assert message.defects == ()


OUTLOOK_HTML_ONLY = eml(
    """\
From: Kim O'Neil <Kim.ONeil@Contoso.example>
To: Acme Support <support@acme.example>
CC: =?iso-8859-1?Q?J=FCrgen_Wei=DF?= <jw@contoso.example>, billing@contoso.example
Subject: RE: Invoice 2024-117 is wrong
Thread-Topic: Invoice 2024-117 is wrong
Thread-Index: AQHapn3Yx5Kq8t0m7EqkqL7lRb5FxrGZ1a2b
Date: Wed, 15 May 2024 14:03:11 +0000
Message-ID:
 <AM0PR07MB4321A1B2C3D4E5F6@AM0PR07MB4321.eurprd07.prod.outlook.example>
References: <ticket-7.1@acme.example> <ticket-7.3@acme.example>
In-Reply-To: <ticket-7.3@acme.example>
Accept-Language: en-GB, en-US
Content-Language: en-GB
X-MS-Has-Attach:
Authentication-Results: spf=pass (sender IP is 40.107.1.2) smtp.mailfrom=contoso.example;
 dkim=pass (signature was verified) header.d=contoso.example;
Authentication-Results: mx.acme.example; dmarc=pass header.from=contoso.example
Content-Type: text/html; charset="Windows-1252"
Content-Transfer-Encoding: quoted-printable
MIME-Version: 1.0

<html>
<head>
<meta http-equiv=3D"Content-Type" content=3D"text/html; charset=3DWindows-1=
252">
<style type=3D"text/css" style=3D"display:none;"> P {margin-top:0;margin-bo=
ttom:0;} p.MsoNormal {margin:0cm;}</style>
</head>
<body dir=3D"ltr">
<div class=3D"WordSection1">
<p class=3D"MsoNormal">Hello,<o:p></o:p></p>
<p class=3D"MsoNormal"><o:p>&nbsp;</o:p></p>
<p class=3D"MsoNormal">the invoice charges 3 vases =96 we ordered 2. See <a h=
ref=3D"https://portal.contoso.example/orders/117">order 117</a>.<o:p></o:p>=
</p>
<p class=3D"MsoNormal"><o:p>&nbsp;</o:p></p>
<p class=3D"MsoNormal">Kind regards,<o:p></o:p></p>
<p class=3D"MsoNormal">Kim<o:p></o:p></p>
</div>
<div id=3D"appendonsend"></div>
<hr style=3D"display:inline-block;width:98%" tabindex=3D"-1">
<div id=3D"divRplyFwdMsg" dir=3D"ltr"><font face=3D"Calibri, sans-serif" co=
lor=3D"#000000" style=3D"font-size:11pt"><b>From:</b> Acme Support &lt;supp=
ort@acme.example&gt;<br>
<b>Sent:</b> Tuesday, May 14, 2024 10:00 AM<br>
<b>Subject:</b> Invoice 2024-117</font>
<div>&nbsp;</div>
</div>
<div>Please find your invoice attached.</div>
</body>
</html>
"""
)


def test_outlook_html_only_every_field() -> None:
    message = parse_message(OUTLOOK_HTML_ONLY)
    assert message.message_id == "AM0PR07MB4321A1B2C3D4E5F6@AM0PR07MB4321.eurprd07.prod.outlook.example"
    assert message.in_reply_to == "ticket-7.3@acme.example"
    assert message.references == ("ticket-7.1@acme.example", "ticket-7.3@acme.example")
    assert message.sender == Address("Kim O'Neil", "kim.oneil@contoso.example")
    assert message.to == (Address("Acme Support", "support@acme.example"),)
    assert message.cc == (
        Address("Jürgen Weiß", "jw@contoso.example"),
        Address("", "billing@contoso.example"),
    )
    assert message.subject == "RE: Invoice 2024-117 is wrong"
    assert message.date == datetime(2024, 5, 15, 14, 3, 11, tzinfo=UTC)
    assert message.text == (
        "Hello,\n\n"
        "the invoice charges 3 vases \u2013 we ordered 2. See order 117 "
        "(https://portal.contoso.example/orders/117).\n\n"
        "Kind regards,\nKim"
    )
    assert message.full_text.startswith(message.text)
    assert "From: Acme Support <support@acme.example>" in message.full_text
    assert message.full_text.endswith("Please find your invoice attached.")
    assert "margin" not in message.full_text
    assert message.authentication_results == (
        "spf=pass (sender IP is 40.107.1.2) smtp.mailfrom=contoso.example; "
        "dkim=pass (signature was verified) header.d=contoso.example;",
        "mx.acme.example; dmarc=pass header.from=contoso.example",
    )
    assert message.attachments == ()
    assert message.automatic_reason is None
    assert message.defects == ()


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5f0a3620000000049454e44ae426082"
)

APPLE_MAIL = eml(
    f"""\
From: =?utf-8?Q?Zo=C3=AB_Martin?= <zoe@icloud.example>
Content-Type: multipart/alternative;
\tboundary="Apple-Mail=_8C1F0E2A-3B4D-4E5F-9A6B-7C8D9E0F1A2B"
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.500.171.1.1\\))
Subject: Lid does not fit
Message-Id: <8C1F0E2A-3B4D-4E5F-9A6B-7C8D9E0F1A2B@icloud.example>
Date: Thu, 16 May 2024 21:45:10 -0400
To: support@acme.example
X-Mailer: Apple Mail (2.3774.500.171.1.1)

--Apple-Mail=_8C1F0E2A-3B4D-4E5F-9A6B-7C8D9E0F1A2B
Content-Transfer-Encoding: quoted-printable
Content-Type: text/plain;
\tcharset=utf-8

Hello,

the lid of the teapot does not fit, see the photo.

Zo=C3=AB

--Apple-Mail=_8C1F0E2A-3B4D-4E5F-9A6B-7C8D9E0F1A2B
Content-Type: multipart/related;
\ttype="text/html";
\tboundary="Apple-Mail=_D1E2F3A4-B5C6-4D7E-8F90-A1B2C3D4E5F6"

--Apple-Mail=_D1E2F3A4-B5C6-4D7E-8F90-A1B2C3D4E5F6
Content-Transfer-Encoding: quoted-printable
Content-Type: text/html;
\tcharset=utf-8

<html><head><meta http-equiv=3D"content-type" content=3D"text/html; charset=
=3Dutf-8"></head><body style=3D"overflow-wrap: break-word;">Hello,<div><br>=
</div><div>the lid of the teapot does not fit, see the photo.</div><div><im=
g src=3D"cid:4F1E2D3C-5B6A-4798-8A9B-0C1D2E3F4A5B" alt=3D"IMG_0042.png"></d=
iv><div><br></div><div>Zo=C3=AB</div></body></html>
--Apple-Mail=_D1E2F3A4-B5C6-4D7E-8F90-A1B2C3D4E5F6
Content-Transfer-Encoding: base64
Content-Disposition: inline;
\tfilename=IMG_0042.png
Content-Type: image/png;
\tx-unix-mode=0644;
\tname="IMG_0042.png"
Content-Id: <4F1E2D3C-5B6A-4798-8A9B-0C1D2E3F4A5B>

{b64(PNG)}
--Apple-Mail=_D1E2F3A4-B5C6-4D7E-8F90-A1B2C3D4E5F6--

--Apple-Mail=_8C1F0E2A-3B4D-4E5F-9A6B-7C8D9E0F1A2B--
"""
)


def test_apple_mail_with_inline_image() -> None:
    message = parse_message(APPLE_MAIL)
    assert message.message_id == "8C1F0E2A-3B4D-4E5F-9A6B-7C8D9E0F1A2B@icloud.example"
    assert message.in_reply_to is None
    assert message.references == ()
    assert message.sender == Address("Zoë Martin", "zoe@icloud.example")
    assert message.to == (Address("", "support@acme.example"),)
    assert message.subject == "Lid does not fit"
    assert message.date == datetime(2024, 5, 17, 1, 45, 10, tzinfo=UTC)
    assert message.full_text == (
        "Hello,\n\nthe lid of the teapot does not fit, see the photo.\n\nZoë"
    )
    assert message.text == message.full_text
    assert message.attachments == (
        Attachment(
            filename="IMG_0042.png",
            content_type="image/png",
            size=len(PNG),
            sha256=sha(PNG),
            content_id="4F1E2D3C-5B6A-4798-8A9B-0C1D2E3F4A5B",
        ),
    )
    assert message.automatic_reason is None


# "~" marks the trailing spaces that format=flowed relies on.
THUNDERBIRD_FLOWED = eml(
    """\
Message-ID: <5d0c1e2f-3a4b-4c5d-8e9f-0a1b2c3d4e5f@posteo.example>
Date: Fri, 17 May 2024 08:00:00 +0200
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Subject: Re: Your order 42
To: Acme Support <support@acme.example>
References: <ticket-42.1@acme.example>
From: Jan de Vries <jan@posteo.example>
In-Reply-To: <ticket-42.1@acme.example>
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 7bit

Thanks, the package arrived today. One question: can I return the blue~
cup and keep the red one, or do I have to return both of them?

Jan

--~
Jan de Vries
Utrecht

On 16.05.24 10:00, Acme Support wrote:
> Your order 42 has shipped and should arrive within two~
> days.
""".replace("~", " ")
)


def test_format_flowed_is_unwrapped_and_signature_delimiter_kept() -> None:
    message = parse_message(THUNDERBIRD_FLOWED)
    assert message.full_text == (
        "Thanks, the package arrived today. One question: can I return the blue cup and keep "
        "the red one, or do I have to return both of them?\n\n"
        "Jan\n\n"
        "-- \n"
        "Jan de Vries\nUtrecht\n\n"
        "On 16.05.24 10:00, Acme Support wrote:\n"
        "> Your order 42 has shipped and should arrive within two days."
    )
    assert message.text == (
        "Thanks, the package arrived today. One question: can I return the blue cup and keep "
        "the red one, or do I have to return both of them?\n\nJan"
    )
    assert message.in_reply_to == "ticket-42.1@acme.example"
    assert message.sender == Address("Jan de Vries", "jan@posteo.example")


GARBLED_THREAD_HEADERS = eml(
    """\
From: ann@example.org
To: support@acme.example
Subject: Re: Re: refund
Message-ID:   <  spaced@example.org >
In-Reply-To: <second@acme.example> (Acme Support's message of "Mon, 13 May")
References: <first@acme.example>
\tgarbage-without-brackets <second@acme.example>
 <first@acme.example>
References: <third@acme.example>

Any news?
"""
)


def test_thread_headers_tolerate_folding_comments_and_garbage() -> None:
    message = parse_message(GARBLED_THREAD_HEADERS)
    assert message.message_id == "spaced@example.org"
    assert message.in_reply_to == "second@acme.example"
    assert message.references == ("first@acme.example", "second@acme.example", "third@acme.example")
    assert message.sender == Address("", "ann@example.org")
    assert message.subject == "Re: Re: refund"
    assert message.date is None
    assert message.text == "Any news?"


def test_bare_identifiers_without_brackets() -> None:
    raw = eml(
        "From: a@example.org\nMessage-ID: bare-id@example.org\n"
        "In-Reply-To: parent@example.org\nReferences: root@example.org parent@example.org\n\nx\n"
    )
    message = parse_message(raw)
    assert message.message_id == "bare-id@example.org"
    assert message.in_reply_to == "parent@example.org"
    assert message.references == ("root@example.org", "parent@example.org")


@pytest.mark.parametrize("header", ["", "Message-ID: \n", "Message-ID: <>\n", "Message-ID:  <   >\n"])
def test_missing_or_empty_message_id_is_synthesized_stably(header: str) -> None:
    raw = eml(f"From: a@example.org\n{header}Subject: hi\n\nbody\n")
    first = parse_message(raw)
    again = parse_message(raw)
    other = parse_message(raw + b"more\r\n")
    assert first.message_id_synthesized
    assert first.message_id == f"{sha(raw)[:32]}@synthesized.helpdesk"
    assert again.message_id == first.message_id
    assert other.message_id != first.message_id


AUTO_REPLY = eml(
    """\
From: Zoe Martin <zoe@example.org>
To: support@acme.example
Subject: Automatic reply: [#42] My vase arrived broken
Date: Mon, 20 May 2024 07:00:01 +0000
Message-ID: <auto-1@example.org>
In-Reply-To: <ticket-42.5@acme.example>
References: <ticket-42.5@acme.example>
Auto-Submitted: auto-replied
X-Auto-Response-Suppress: All
Content-Type: text/plain; charset=us-ascii

I am on holiday until 3 June and will read your message when I am back.
"""
)


def test_auto_reply() -> None:
    message = parse_message(AUTO_REPLY)
    assert message.auto_submitted
    assert message.is_automatic
    assert message.automatic_reason == "Auto-Submitted: auto-replied"
    assert message.is_bulk  # X-Auto-Response-Suppress: All
    assert not message.is_bounce
    assert message.in_reply_to == "ticket-42.5@acme.example"
    assert message.text == (
        "I am on holiday until 3 June and will read your message when I am back."
    )


ORIGINAL = eml(
    """\
From: Acme Support <support@acme.example>
To: gone@example.net
Subject: Your ticket [#9]
Message-ID: <ticket-9.1@acme.example>
Date: Mon, 20 May 2024 09:00:00 +0000

We received your message.
"""
)

POSTFIX_BOUNCE = eml(
    """\
Return-Path: <>
From: MAILER-DAEMON@mx.acme.example (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: support@acme.example
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4F1B2C3D4E.1716195602/mx.acme.example"
Content-Transfer-Encoding: 8bit
Message-Id: <20240520090002.4F1B2C3D4E@mx.acme.example>
Date: Mon, 20 May 2024 09:00:02 +0000 (UTC)

This is a MIME-encapsulated message.

--4F1B2C3D4E.1716195602/mx.acme.example
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.acme.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<gone@example.net>: host mx.example.net[203.0.113.9] said: 550 5.1.1 User
    unknown (in reply to RCPT TO command)

--4F1B2C3D4E.1716195602/mx.acme.example
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.acme.example
Arrival-Date: Mon, 20 May 2024 09:00:00 +0000 (UTC)

Final-Recipient: rfc822; gone@example.net
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown

--4F1B2C3D4E.1716195602/mx.acme.example
Content-Description: Undelivered Message
Content-Type: message/rfc822

"""
).replace(b"\r\n\r\n\r\n", b"\r\n\r\n") + ORIGINAL + eml(
    "\n--4F1B2C3D4E.1716195602/mx.acme.example--\n"
)


def test_postfix_bounce() -> None:
    message = parse_message(POSTFIX_BOUNCE)
    assert message.is_bounce
    assert message.auto_submitted
    assert message.automatic_reason == "Auto-Submitted: auto-replied"
    assert message.sender == Address("Mail Delivery System", "mailer-daemon@mx.acme.example")
    assert message.subject == "Undelivered Mail Returned to Sender"
    assert message.full_text.startswith("This is the mail system at host mx.acme.example.")
    assert "550 5.1.1 User" in message.full_text
    # The returned message is one attachment; its text is not this message's body.
    assert "We received your message." not in message.full_text
    assert len(message.attachments) == 1
    returned = message.attachments[0]
    assert returned.filename == "attachment-1.eml"
    assert returned.content_type == "message/rfc822"
    assert returned.size > len("We received your message.")
    assert returned.content_id is None


def test_bounce_without_auto_submitted_is_still_a_bounce() -> None:
    raw = POSTFIX_BOUNCE.replace(b"Auto-Submitted: auto-replied\r\n", b"")
    message = parse_message(raw)
    assert message.is_bounce
    assert not message.auto_submitted
    assert message.automatic_reason == "bounce (delivery-status report)"


def test_qmail_failure_notice_is_a_bounce() -> None:
    raw = eml(
        "From: MAILER-DAEMON@mail.example.net\nTo: support@acme.example\n"
        "Subject: failure notice\nDate: Mon, 20 May 2024 09:00:00 +0000\n\n"
        "Hi. This is the qmail-send program at mail.example.net.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
    )
    message = parse_message(raw)
    assert message.is_bounce
    assert message.automatic_reason == "bounce from mailer-daemon@mail.example.net"


LIST_MESSAGE = eml(
    """\
From: GitHub <notifications@github.example>
Reply-To: acme/shop <reply+ABCDEF@reply.github.example>
To: acme/shop <shop@noreply.github.example>
Cc: Subscribed <subscribed@noreply.github.example>
Subject: [acme/shop] Checkout fails for EU customers (Issue #7)
Date: Tue, 21 May 2024 12:00:00 -0700
Message-ID: <acme/shop/issues/7@github.example>
List-ID: acme/shop <shop.acme.github.example>
List-Archive: https://github.example/acme/shop
List-Unsubscribe: <mailto:unsub+ABCDEF@reply.github.example>
X-GitHub-Reason: subscribed
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 7bit

The checkout fails with a 500 error for addresses in Austria.
"""
)


def test_list_message() -> None:
    message = parse_message(LIST_MESSAGE)
    assert message.is_bulk
    assert message.automatic_reason == "List-Id: acme/shop <shop.acme.github.example>"
    assert not message.auto_submitted
    assert not message.is_bounce
    assert message.reply_to == (Address("acme/shop", "reply+abcdef@reply.github.example"),)
    assert message.cc == (Address("Subscribed", "subscribed@noreply.github.example"),)
    assert message.date == datetime(2024, 5, 21, 19, 0, tzinfo=UTC)
    assert message.message_id == "acme/shop/issues/7@github.example"


# The emoji is split between two encoded-words in the middle of its UTF-8 bytes.
_EMOJI = "🙂".encode()
CHINESE_BODY = "你好 我的订单 42 还没有到。\n谢谢\n".encode()
NON_ASCII = eml(
    f"""\
From: =?UTF-8?B?5byg5Lyf?= <Zhang.Wei@Example.CN>
To: =?utf-8?q?Zo=C3=AB?= <zoe@acme.example>, =?ISO-2022-JP?B?GyRCOjRGIxsoQg==?= <sato@acme.example>
Reply-To: "=?utf-8?q?Zhang_=E5=BC=A0?=" <reply@example.cn>
Subject: =?UTF-8?B?6K6i5Y2VIDQyIOeahOmXrumimCA=?=
 =?UTF-8?B?{base64.b64encode(_EMOJI[:2]).decode()}?= =?UTF-8?B?{base64.b64encode(_EMOJI[2:]).decode()}?=
 and more
Date: Wed, 22 May 2024 10:00:00 +0800
Message-ID: <cn-1@example.cn>
X-Original-To: support@acme.example
Envelope-To: Orders@Acme.Example
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

{b64(CHINESE_BODY)}
"""
)


def test_non_ascii_names_subjects_and_bodies() -> None:
    message = parse_message(NON_ASCII)
    assert message.sender == Address("张伟", "zhang.wei@example.cn")
    assert message.to == (Address("Zoë", "zoe@acme.example"), Address("佐藤", "sato@acme.example"))
    assert message.reply_to == (Address("Zhang 张", "reply@example.cn"),)
    assert message.subject == "订单 42 的问题 🙂 and more"
    assert message.date == datetime(2024, 5, 22, 2, 0, tzinfo=UTC)
    assert message.delivered_to == ("support@acme.example", "orders@acme.example")
    assert message.full_text == "你好 我的订单 42 还没有到。\n谢谢"
    assert message.text == message.full_text


PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
BLOB = bytes(range(256)) * 3

ATTACHMENTS = eml(
    f"""\
From: Kurt <kurt@example.de>
To: support@acme.example
Subject: Rechnung und Fotos
Date: Thu, 23 May 2024 10:00:00 +0200
Message-ID: <att-1@example.de>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/related; boundary="inner"

--inner
Content-Type: text/html; charset=utf-8

<p>Siehe Anhang.</p><p><img src="cid:logo@example.de"></p>
--inner
Content-Type: image/png
Content-ID: <logo@example.de>
Content-Transfer-Encoding: base64

{b64(PNG)}
--inner--

--outer
Content-Type: application/pdf
Content-Disposition: attachment; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf
Content-ID: <not-inline@example.de>
Content-Transfer-Encoding: base64

{b64(PDF)}
--outer
Content-Type: image/jpeg; name="=?UTF-8?B?RsO2dG8gMS5qcGc=?="
Content-Disposition: attachment; filename="=?UTF-8?B?RsO2dG8gMS5qcGc=?="
Content-Transfer-Encoding: base64

{b64(BLOB)}
--outer
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

{b64(BLOB[:100])}
--outer
Content-Type: text/plain; charset=utf-8
Content-Disposition: attachment; filename="../../etc/notes.txt"

line one
--outer--
"""
)


def test_attachments_and_inline_images() -> None:
    message = parse_message(ATTACHMENTS)
    assert message.full_text == "Siehe Anhang."
    assert message.attachments == (
        Attachment("attachment-1.png", "image/png", len(PNG), sha(PNG), "logo@example.de"),
        Attachment("Rechnung März.pdf", "application/pdf", len(PDF), sha(PDF), None),
        Attachment("Föto 1.jpg", "image/jpeg", len(BLOB), sha(BLOB), None),
        Attachment("attachment-4.bin", "application/octet-stream", 100, sha(BLOB[:100]), None),
        Attachment("notes.txt", "text/plain", len(b"line one"), sha(b"line one"), None),
    )


def test_html_only_mail_with_cite_blockquote() -> None:
    raw = eml(
        "From: ann@example.org\nTo: support@acme.example\nSubject: Re: hello\n"
        "Content-Type: text/html; charset=utf-8\n\n"
        "<p>Works now, thanks!</p><p>On Monday, Acme wrote:</p>"
        '<blockquote type="cite"><p>Try turning it off and on.</p></blockquote>'
    )
    message = parse_message(raw)
    assert message.full_text == (
        "Works now, thanks!\n\nOn Monday, Acme wrote:\n\n> Try turning it off and on."
    )
    assert message.text == "Works now, thanks!"


def test_empty_plain_part_falls_back_to_html() -> None:
    raw = eml(
        'From: ann@example.org\nSubject: x\nContent-Type: multipart/alternative; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\n \n--b\nContent-Type: text/html\n\n<b>Bold</b> news\n--b--\n"
    )
    assert parse_message(raw).full_text == "Bold news"


def test_text_normalisation() -> None:
    raw = (
        b"From: a@example.org\r\nSubject: spaces\r\n\r\n\r\n"
        b"first line   \r\nsecond\tline\t\rthird\nfourth\x00 \r\n\r\n\r\n"
    )
    message = parse_message(raw)
    assert message.full_text == "first line\nsecond\tline\nthird\nfourth"


def test_subject_is_one_line() -> None:
    raw = eml("From: a@example.org\nSubject: one\n   two\n\tthree    four\n\nx\n")
    assert parse_message(raw).subject == "one two three four"


def test_unparseable_from_gives_no_sender() -> None:
    raw = eml("From: not an address at all\nTo: support@acme.example\nSubject: hi\n\nhello\n")
    message = parse_message(raw)
    assert message.sender is None
    assert "From: no usable address" in message.defects
    assert message.text == "hello"


def test_lenient_date_fallback_assumes_utc_without_zone() -> None:
    raw = eml("From: a@example.org\nDate: Thu, 23 May 2024 10:00:00\nSubject: x\n\nx\n")
    assert parse_message(raw).date == datetime(2024, 5, 23, 10, 0, tzinfo=UTC)


def test_to_json_shape() -> None:
    message = parse_message(ATTACHMENTS)
    data = json.loads(json.dumps(message.to_json()))
    for key in (
        "message_id", "in_reply_to", "references", "from", "to", "cc", "reply_to", "subject",
        "date", "text", "full_text", "attachments", "auto_submitted", "is_bounce", "is_bulk",
        "automatic_reason", "message_id_synthesized", "defects", "delivered_to",
        "authentication_results",
    ):  # fmt: skip
        assert key in data, key
    assert data["from"] == {"name": "Kurt", "email": "kurt@example.de"}
    assert data["to"] == [{"name": "", "email": "support@acme.example"}]
    assert data["date"] == "2024-05-23T08:00:00+00:00"
    assert data["references"] == []
    assert data["attachments"][1] == {
        "filename": "Rechnung März.pdf",
        "content_type": "application/pdf",
        "size": len(PDF),
        "sha256": sha(PDF),
        "content_id": None,
    }
    assert data["auto_submitted"] is False
    assert data["is_bounce"] is False


def test_to_json_without_sender_or_date() -> None:
    data = parse_message(eml("To: support@acme.example\nSubject: who\n\nme\n")).to_json()
    assert data["from"] is None
    assert data["date"] is None
    assert json.dumps(data)


def test_record_is_immutable() -> None:
    message = parse_message(GMAIL_REPLY)
    assert isinstance(message, InboundMessage)
    with pytest.raises(AttributeError):
        message.subject = "changed"  # type: ignore[misc]


# ---------------------------------------------------------------------------
# Rejections
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty message"),
        (b" \r\n\t\r\n", "empty message"),
        (b"Dear diary,\n\nno mail here.\n", "not an e-mail"),
        (b"Colour: blue\nSize: large\n\nA product sheet, not mail.\n", "not an e-mail"),
        (b"Subject: only\r\n\r\n", "no sender and no body"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not an e-mail"),
    ],
)
def test_unusable_input_is_rejected_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(MessageRejected) as caught:
        parse_message(raw)
    assert reason in caught.value.reason


def test_non_bytes_input_is_rejected() -> None:
    with pytest.raises(MessageRejected, match="expected bytes"):
        parse_message("From: a@example.org\n\nhi")  # type: ignore[arg-type]


def test_bytearray_input_is_accepted() -> None:
    assert parse_message(bytearray(AUTO_REPLY)).message_id == "auto-1@example.org"


# ---------------------------------------------------------------------------
# The malformed corpus
# ---------------------------------------------------------------------------

CORPUS = malformed_messages()

# Entries that must be rejected; every other entry must parse.
REJECTED = {
    "absurdly_nested_multipart": "nested too deeply",
    "headers_only_no_sender": "no sender and no body",
    "plain_text_not_email": "not an e-mail",
    "random_binary": "not an e-mail",
    "empty_file": "empty message",
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_malformed_corpus_parses_or_is_rejected_with_a_reason(name: str) -> None:
    raw = CORPUS[name]
    if name in REJECTED:
        with pytest.raises(MessageRejected) as caught:
            parse_message(raw)
        assert REJECTED[name] in caught.value.reason
        return
    message = parse_message(raw)
    assert message.message_id
    assert json.dumps(message.to_json())
    for text in (message.text, message.full_text, message.subject):
        text.encode("utf-8")  # No lone surrogates: printable and storable.
        assert "\x00" not in text


def test_corpus_covers_the_required_cases() -> None:
    required = {
        "broken_boundary", "missing_closing_boundary", "unknown_charset",
        "raw_8bit_latin1_headers", "raw_8bit_utf8_headers", "empty_body", "no_body_at_all",
        "missing_message_id", "missing_date", "missing_from", "garbage_date",
        "huge_attachment_20mb", "deeply_nested_multipart", "malformed_encoded_words",
        "very_long_header_line", "nul_byte_in_body", "random_binary", "empty_file",
    }  # fmt: skip
    assert required <= set(CORPUS)
    assert CORPUS["empty_file"] == b""
    assert len(CORPUS["huge_attachment_20mb"]) > HUGE_ATTACHMENT_SIZE


def test_broken_boundary_is_recovered() -> None:
    message = parse_message(CORPUS["broken_boundary"])
    assert message.text == "The boundary in my headers is wrong, but please read this anyway."
    assert [a.filename for a in message.attachments] == ["order.pdf"]
    assert "multipart/mixed: StartBoundaryNotFoundDefect" in message.defects


def test_missing_closing_boundary_keeps_text_and_attachment() -> None:
    message = parse_message(CORPUS["missing_closing_boundary"])
    assert message.text == "My order arrived without the manual."
    assert [a.filename for a in message.attachments] == ["box.jpg"]
    assert "multipart/mixed: CloseBoundaryNotFoundDefect" in message.defects


def test_multipart_without_boundary_reads_as_text() -> None:
    message = parse_message(CORPUS["no_boundary_parameter"])
    assert message.text == "Plain words where MIME parts were promised."
    assert "multipart/alternative: NoBoundaryInMultipartDefect" in message.defects


def test_unknown_charset_is_decoded_best_effort() -> None:
    message = parse_message(CORPUS["unknown_charset"])
    assert message.subject == "Café order"
    assert message.text == "The café order for Zoë is late."
    assert "text/plain: unknown or wrong charset 'x-unknown-42'" in message.defects


def test_raw_8bit_headers_are_decoded() -> None:
    latin = parse_message(CORPUS["raw_8bit_latin1_headers"])
    assert latin.sender == Address("Zoë Müller", "zoe.mueller@example.org")
    assert latin.subject == "Rückerstattung für Bestellung 17"
    assert latin.text == "Bitte um Rückerstattung."
    utf8 = parse_message(CORPUS["raw_8bit_utf8_headers"])
    assert utf8.sender == Address("张伟", "zhang.wei@example.cn")
    assert utf8.subject == "订单 42 的问题 🙂"
    assert utf8.text == "你好\uff0c我的订单还没有到。"


def test_missing_headers_are_tolerated() -> None:
    assert parse_message(CORPUS["missing_message_id"]).message_id_synthesized
    assert parse_message(CORPUS["missing_date"]).date is None
    garbage = parse_message(CORPUS["garbage_date"])
    assert garbage.date is None
    assert "Date: unparseable" in garbage.defects
    nobody = parse_message(CORPUS["missing_from"])
    assert nobody.sender is None
    assert nobody.text == "Anonymous words."


def test_empty_bodies_parse() -> None:
    for name in ("empty_body", "no_body_at_all"):
        message = parse_message(CORPUS[name])
        assert (message.text, message.full_text) == ("", "")
        assert message.sender == Address("Zoe Martin", "zoe@example.org")


def test_huge_attachment_is_measured_not_kept() -> None:
    message = parse_message(CORPUS["huge_attachment_20mb"])
    assert message.text == "The log file you asked for is attached."
    (attachment,) = message.attachments
    assert attachment.filename == "server.log"
    assert attachment.size == HUGE_ATTACHMENT_SIZE
    pattern = bytes(range(256)) * 1024
    expected = hashlib.sha256(pattern * (HUGE_ATTACHMENT_SIZE // len(pattern))).hexdigest()
    assert attachment.sha256 == expected


def test_deep_nesting_reaches_the_text() -> None:
    assert parse_message(CORPUS["deeply_nested_multipart"]).text == "Deep down here."


def test_malformed_encoded_words_do_not_lose_the_message() -> None:
    message = parse_message(CORPUS["malformed_encoded_words"])
    assert message.sender is not None
    assert message.sender.email == "zoe@example.org"
    assert message.subject.startswith("=?utf-8?B?not-base64!?= bad=ZZescape")
    assert message.text == "Subject line is a mess."
    assert any("read with the email package" in defect for defect in message.defects)


def test_long_header_and_nul_byte() -> None:
    long = parse_message(CORPUS["very_long_header_line"])
    assert long.subject.startswith("refund refund")
    assert len(long.subject) == len("refund ") * 14_286 - 1
    assert parse_message(CORPUS["nul_byte_in_body"]).text == "Beforeafter the NUL byte."


# ---------------------------------------------------------------------------
# Properties: nothing but MessageRejected, whatever the input
# ---------------------------------------------------------------------------


def _parse_or_reject(raw: bytes) -> InboundMessage | None:
    """Parse ``raw``; None if rejected with a reason. Anything else fails the test."""
    try:
        message = parse_message(raw)
    except MessageRejected as rejected:
        assert rejected.reason.strip()
        return None
    json.dumps(message.to_json())
    return message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise_anything_else(raw: bytes) -> None:
    _parse_or_reject(raw)


_HEADER_NAMES = st.sampled_from(
    [
        "From", "To", "Cc", "Reply-To", "Subject", "Date", "Message-ID", "In-Reply-To",
        "References", "Content-Type", "Content-Transfer-Encoding", "Content-Disposition",
        "Auto-Submitted", "Precedence", "List-Id", "Delivered-To", "X-Original-To", "MIME-Version",
    ]
)  # fmt: skip
_HEADER_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=120)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(_HEADER_NAMES, _HEADER_TEXT), max_size=12),
    st.binary(max_size=500),
    st.sampled_from(["utf-8", "latin-1"]),
)
def test_arbitrary_header_text_never_raises_anything_else(
    headers: list[tuple[str, str]], body: bytes, encoding: str
) -> None:
    lines = [f"{name}: {value}".encode(encoding, "replace") for name, value in headers]
    raw = b"From: zoe@example.org\r\n" + b"\r\n".join(lines) + b"\r\n\r\n" + body
    message = _parse_or_reject(raw)
    if message is not None:
        assert "\n" not in message.subject


_MIME_PIECES = st.sampled_from(
    [
        b"--b\r\n", b"--b--\r\n", b"--c\r\n", b"Content-Type: multipart/mixed; boundary=c\r\n",
        b"Content-Type: text/html; charset=x-nope\r\n", b"Content-Type: message/rfc822\r\n",
        b"Content-Transfer-Encoding: base64\r\n", b"Content-Transfer-Encoding: quoted-printable\r\n",
        b"Content-Disposition: attachment; filename*=bogus''%ZZ\r\n", b"\r\n", b"=?utf-8?B?@@?=\r\n",
        b"<blockquote type=cite>q</blockquote>\r\n", b"text \xe9\xff\r\n", b"aGVsbG8=\r\n",
        b"Content-Type: message/delivery-status\r\n", b"Content-ID: <x@y>\r\n",
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_MIME_PIECES, max_size=40))
def test_arbitrary_mime_structure_never_raises_anything_else(pieces: list[bytes]) -> None:
    head = b'From: a@example.org\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
    _parse_or_reject(head + b"".join(pieces))
