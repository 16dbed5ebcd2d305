"""Which of our questions a customer's message answers, and what is recorded."""

from __future__ import annotations

from helpdesk.intake.answers import apply_answer, quoted_name, read_answer
from helpdesk.store.records import Customer, Ticket

STAMP = "2026-03-04T10:00:00+00:00"


def ticket(**changes: object) -> Ticket:
    made = Ticket(id=7, customer="zoe@example.org", subject="Lid", created_at=STAMP, updated_at=STAMP)
    made.status = "closed"
    for key, value in changes.items():
        setattr(made, key, value)
    return made


def customer() -> Customer:
    return Customer(
        id=3, email="zoe@example.org", name="Zoë Anne Martin", first_contact=STAMP, last_contact=STAMP
    )


SURVEY = {"sent_at": "2026-03-03T10:00:00+00:00", "message_id": "survey@acme.example"}
REQUEST = {"sent_at": "2026-03-03T12:00:00+00:00", "message_id": "request@acme.example"}


def test_nothing_asked_nothing_answered() -> None:
    assert read_answer(ticket(), "5 - great", None) is None


def test_a_rating_answers_the_survey_and_is_recorded_on_ticket_and_customer() -> None:
    open_survey = ticket(survey=dict(SURVEY))
    reading = read_answer(open_survey, "4/5 quick and friendly", "survey@acme.example")
    assert reading is not None
    assert (reading.kind, reading.score, reading.reopen) == ("rating", 4, False)
    assert "satisfaction question" in reading.reason
    person = customer()
    line = apply_answer(reading, open_survey, person, STAMP, 99)
    assert line.startswith("rated 4/5")
    assert open_survey.feedback == {"score": 4, "comment": reading.comment, "at": STAMP, "message": 99}
    assert person.ratings == [{"ticket": 7, "score": 4, "comment": reading.comment, "at": STAMP}]
    # Answered once: a second message is not read as a rating again.
    assert read_answer(open_survey, "5", None) is None


def test_a_question_in_the_answer_reopens() -> None:
    reading = read_answer(ticket(survey=dict(SURVEY)), "5! When will the blue one be back?", None)
    assert reading is not None and reading.score == 5 and reading.reopen


def test_no_rating_in_the_text_is_an_ordinary_message() -> None:
    assert read_answer(ticket(survey=dict(SURVEY)), "The lid broke again, can you help?", None) is None


def test_the_request_to_quote_is_answered_before_the_older_survey_and_stores_the_quote() -> None:
    glowing = ticket(
        survey=dict(SURVEY),
        feedback={"score": 5, "comment": "Lovely lid", "at": STAMP},
        testimonial_request=dict(REQUEST),
    )
    reading = read_answer(glowing, "Yes, initials only please", "request@acme.example")
    assert reading is not None
    read = (reading.kind, reading.consent, reading.name_form, reading.reopen)
    assert read == ("consent", "yes", "initials", False)
    person = customer()
    apply_answer(reading, glowing, person, STAMP, 100)
    assert glowing.testimonial_request["answer"] == "yes"
    assert person.testimonials == [
        {
            "quote": "Lovely lid", "name": "Z. A. M.", "name_form": "initials", "score": 5, "ticket": 7,
            "at": STAMP,
        }
    ]  # fmt: skip


def test_a_no_stores_nothing() -> None:
    feedback = {"score": 5, "comment": "Lovely", "at": STAMP}
    glowing = ticket(feedback=feedback, testimonial_request=dict(REQUEST))
    reading = read_answer(glowing, "No thanks", None)
    assert reading is not None and reading.consent == "no"
    person = customer()
    assert apply_answer(reading, glowing, person, STAMP, 5) == "declined to be quoted"
    assert person.testimonials == [] and glowing.testimonial_request["answer"] == "no"


def test_unsubscribe_opts_out_whatever_was_asked() -> None:
    reading = read_answer(ticket(survey=dict(SURVEY)), "unsubscribe", None)
    assert reading is not None and reading.kind == "unsubscribe" and not reading.reopen
    person = customer()
    apply_answer(reading, ticket(), person, STAMP, 1)
    assert person.opted_out and person.opted_out_at == STAMP


def test_quoted_names() -> None:
    assert [quoted_name("Zoë Anne Martin", form) for form in ("full", "first", "initials", "anonymous")] == [
        "Zoë Anne Martin",
        "Zoë",
        "Z. A. M.",
        "",
    ]
    assert quoted_name("", "full") == ""
