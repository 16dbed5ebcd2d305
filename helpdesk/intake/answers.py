"""What a customer's message answers: our satisfaction question, our request to quote, or "unsubscribe".

A customer who answers the thank-you note with "5 - great service" has not
reopened their ticket: the answer is a rating, recorded on the ticket and on
the customer. Only when the answer also asks something new (or asks for
anything) does the ticket open again. The same goes for a "yes" to the
request to quote a glowing answer, and for a reply that only says
"unsubscribe". :func:`read_answer` decides which question the message
answers (the one its In-Reply-To names, else the one asked last) and how it
reads; :func:`apply_answer` writes the reading into the ticket and customer
records. Reading the words themselves is :mod:`helpdesk.intake.ratings`' job.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.intake.ratings import asks_to_unsubscribe, read_consent, read_survey_answer
from helpdesk.store.records import Customer, Ticket

__all__ = ["AnswerReading", "apply_answer", "quoted_name", "read_answer"]


@dataclass(frozen=True)
class AnswerReading:
    """How one customer message answers what we asked.

    ``kind`` is "rating", "consent" or "unsubscribe"; ``reopen`` says whether
    the message also needs the owner (a new question), so that the ticket opens
    again as for any customer mail.
    """

    kind: str
    reopen: bool
    reason: str
    score: int | None = None
    comment: str = ""
    consent: str | None = None
    name_form: str = "full"


def _answers_first(ticket: Ticket, in_reply_to: str | None) -> list[str]:
    """The questions still open on ``ticket``, the one ``in_reply_to`` names first, else the latest."""
    asked = []
    if ticket.testimonial_request and not ticket.testimonial_request.get("answer"):
        asked.append(("consent", ticket.testimonial_request))
    if ticket.survey and not ticket.feedback:
        asked.append(("rating", ticket.survey))
    # ISO 8601 UTC times sort as the moments they name; the sorts are stable.
    asked.sort(key=lambda item: str(item[1].get("sent_at", "")), reverse=True)
    asked.sort(key=lambda item: item[1].get("message_id") != in_reply_to)
    return [kind for kind, _ in asked]


def read_answer(ticket: Ticket, text: str, in_reply_to: str | None) -> AnswerReading | None:
    """How ``text`` (a customer's new text on ``ticket``) answers what we asked; None if it does not."""
    if asks_to_unsubscribe(text):
        return AnswerReading("unsubscribe", reopen=False, reason="asks to unsubscribe")
    for kind in _answers_first(ticket, in_reply_to):
        if kind == "consent":
            consent = read_consent(text)
            if consent.answer is not None:
                survey = read_survey_answer(text)
                return AnswerReading(
                    "consent",
                    reopen=survey.question,
                    reason=f"answer to the request to quote: {consent.reason}",
                    consent=consent.answer,
                    name_form=consent.name_form,
                )
        else:
            answer = read_survey_answer(text)
            if answer.score is not None:
                return AnswerReading(
                    "rating",
                    reopen=answer.question,
                    reason=f"answer to the satisfaction question: {answer.reason}"
                    + ("; it also asks something, so the ticket opens again" if answer.question else ""),
                    score=answer.score,
                    comment=answer.comment,
                )
    return None


def quoted_name(name: str, form: str) -> str:
    """How a testimonial names its author: "Zoë Martin", "Zoë", "Z. M." or "" (anonymous)."""
    words = name.split()
    if form == "anonymous" or not words:
        return ""
    if form == "first":
        return words[0]
    if form == "initials":
        return " ".join(f"{word[0]}." for word in words)
    return " ".join(words)


def apply_answer(
    reading: AnswerReading, ticket: Ticket, customer: Customer, stamp: str, message_id: int
) -> str:
    """Record ``reading`` on the ticket and the customer; returns the history line for the ticket."""
    if reading.kind == "rating":
        assert reading.score is not None
        ticket.feedback = {
            "score": reading.score, "comment": reading.comment, "at": stamp, "message": message_id,
        }  # fmt: skip
        customer.ratings.append(
            {"ticket": ticket.id, "score": reading.score, "comment": reading.comment, "at": stamp}
        )
        return f"rated {reading.score}/5" + (f": {reading.comment}" if reading.comment else "")
    if reading.kind == "consent":
        ticket.testimonial_request["answer"] = reading.consent
        if reading.consent != "yes":
            return "declined to be quoted"
        customer.testimonials.append(
            {
                "quote": str(ticket.feedback.get("comment", "")),
                "name": quoted_name(customer.name, reading.name_form),
                "name_form": reading.name_form,
                "score": ticket.feedback.get("score"),
                "ticket": ticket.id,
                "at": stamp,
            }
        )
        return f"allowed the quote (named: {reading.name_form})"
    customer.opt_out(stamp)
    return "opted out of thank-you notes, surveys and greetings"
