"""Find a signature that closes a reply without the standard ``-- `` delimiter.

:mod:`helpdesk.intake.quoting` cuts the reply at a ``-- `` line. Many people
set their signature off differently, and the reply would carry it on:

* a sign-off made of a dash and a name, as the last line of the text
  (``-Jane``, ``- Jane Doe``, ``—Jane``);
* a separator line (``---``, ``____``, ``====``) with a short signature block
  below it: a name, or lines that carry contact details (an address, a link,
  a phone number), like the footer a mailing list appends; or with nothing
  below it at all, once a client footer there is gone.

Only the last few lines of the author's text are looked at, and every line of
what would be cut must look like a signature line: short, few words, not a
question. A list (``- one``, ``- two``) is no sign-off, nor a short answer
(``- yes``, ``- done``); nothing below a line that ends with a colon
(``Please ship to:``) and nothing at the very first line of the text is a
signature, so real content is not taken for one. Signatures without any such
mark (``Best,`` / ``Jane``) are the author's words and are not looked for.
"""

from __future__ import annotations

from collections.abc import Sequence

from helpdesk.intake.replymarkers import (
    ANSWER_WORDS,
    CONTACT,
    DASH_SIGN_OFF,
    LIST_ITEM,
    MAX_CONTACT_LINE,
    MAX_SIGNATURE_LINE,
    MAX_SIGNATURE_LINES,
    MAX_SIGNATURE_WORDS,
    NAME_PARTICLES,
    NOT_NAMES,
    SIGNATURE_SEPARATOR,
)

__all__ = ["signature_start"]


def signature_start(texts: Sequence[str]) -> int | None:
    """The position in ``texts`` where a trailing signature starts, or None.

    ``texts`` are the author's non-blank lines in order, normalized and
    stripped. The earliest opening line (a dash sign-off or a separator)
    among the last lines whose block below reads as a signature wins, so that
    a sign-off above a mailing list footer goes with it. The first line never
    opens a signature: what is left must not be empty. The verdict depends on
    these lines alone, so that stripping a stripped text changes nothing.
    """
    first = max(1, len(texts) - MAX_SIGNATURE_LINES)
    # below[k]: every line after texts[first + k] could belong to a signature.
    below = [True] * (len(texts) - first)
    for offset in range(len(below) - 2, -1, -1):
        below[offset] = below[offset + 1] and _is_signature_line(texts[first + offset + 1])
    for position in range(first, len(texts)):
        if not below[position - first]:
            continue
        if texts[position - 1].endswith(":"):
            # "Please ship to:" announces what follows; it is no signature.
            continue
        if _is_sign_off(texts, position):
            return position
        if SIGNATURE_SEPARATOR.fullmatch(texts[position]) and _is_separated_signature(texts[position + 1 :]):
            return position
    return None


def _is_sign_off(texts: Sequence[str], position: int) -> bool:
    """True if ``texts[position]`` is a dash and a name, not a list item.

    The line above must not be a list item itself: ``- one`` / ``- Two`` is
    a list.
    """
    match = DASH_SIGN_OFF.fullmatch(texts[position])
    if match is None or LIST_ITEM.match(texts[position - 1]):
        return False
    name = match.group("name").rstrip(".,")
    words = name.split()
    # A single word may be written in lowercase ("-roman"); longer sign-offs
    # must read as a name, which keeps "- see below" and "- the cable" out.
    if len(words) == 1:
        word = words[0]
        return word.replace("-", "").replace("'", "").replace(".", "").isalpha() and (
            word.casefold() not in ANSWER_WORDS
        )
    return _is_name(name)


def _is_separated_signature(block: Sequence[str]) -> bool:
    """True if ``block``, the signature-like lines below a separator, is a signature.

    It must start with a name or carry contact details; "Step 1" / "____" /
    "Step 2" is content. A separator with nothing below it (its footer was
    removed) only separated what is gone.
    """
    return not block or _is_name(block[0]) or any(CONTACT.search(line) for line in block)


def _is_signature_line(line: str) -> bool:
    """True if ``line`` could belong to a signature block.

    Separators and sign-offs do; otherwise the line must be short and have
    few words (a line with contact details may be longer, for links), and
    must not ask or announce anything.
    """
    if SIGNATURE_SEPARATOR.fullmatch(line) or DASH_SIGN_OFF.fullmatch(line):
        return True
    if line.endswith(("?", ":")):
        return False
    limit = MAX_CONTACT_LINE if CONTACT.search(line) else MAX_SIGNATURE_LINE
    return len(line) <= limit and len(line.split()) <= MAX_SIGNATURE_WORDS


def _is_name(text: str) -> bool:
    """True if ``text`` reads as a person's name: capitalized words, no digits.

    Any script counts ("Jane Doe", "Иван Петров", "JANE DOE"), and the
    particles of names ("Jan van Berg") may stay lowercase.
    """
    words = text.rstrip(".,").split()
    if not 1 <= len(words) <= 4 or words[0] in NOT_NAMES:
        return False
    return all(word in NAME_PARTICLES or _is_name_word(word) for word in words)


def _is_name_word(word: str) -> bool:
    """True for a capitalized word of letters ("Jane", "O'Neill", "J.", "Smith-Jones")."""
    word = word.strip("\"'(),")
    return word[:1].isupper() and all(character.isalpha() or character in "'\u2019.-" for character in word)
