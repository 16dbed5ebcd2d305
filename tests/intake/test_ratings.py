"""Reading answers to the satisfaction question, to the request to quote, and "unsubscribe"."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk.intake.ratings import asks_to_unsubscribe, read_consent, read_survey_answer

# The thank-you note as a mail client quotes it below the customer's answer.
SURVEY = (
    "On Tue, 3 Mar 2026 at 11:00, Acme Tea Co. <support@acme.example> wrote:\n"
    "> Hello Zoë,\n"
    "> thank you for getting in touch about \"Teapot lid\".\n"
    "> How did we do? Simply reply with a number from 1 to 5 (5 is best), and anything\n"
    "> you'd like to add. It takes ten seconds and helps us do better.\n"
    "> Thank you,\n> Sam Owner\n"
)
OUTLOOK_SURVEY = (
    "________________________________\n"
    "From: Acme Tea Co. <support@acme.example>\n"
    "Sent: Tuesday, March 3, 2026 11:00 AM\n"
    "To: Zoë Martin <zoe@example.org>\n"
    "Subject: Thank you - how did we do? [#7]\n\n"
    "How did we do? Simply reply with a number from 1 to 5 (5 is best).\n"
)

# (answer, score, a piece of the comment or "" for none, asks something)
ANSWERS = [
    # Digits, alone and with words.
    ("5", 5, "", False),
    ("4", 4, "", False),
    ("3.", 3, "", False),
    ("5!", 5, "", False),
    ("1", 1, "", False),
    ("5 - great service", 5, "great service", False),
    ("4 - quick and friendly", 4, "quick and friendly", False),
    ("5 great service", 5, "great service", False),
    ("1, the part broke again", 1, "the part broke again", False),
    ("2. Slow delivery.", 2, "Slow delivery.", False),
    ("(4) nice packaging", 4, "nice packaging", False),
    # Scales.
    ("4/5", 4, "", False),
    ("4 / 5", 4, "", False),
    ("5/5!", 5, "", False),
    ("4 out of 5", 4, "", False),
    ("3 out of 5. Could you send the invoice again?", 3, "send the invoice again", True),
    ("10/10 would buy again", 5, "would buy again", False),
    ("8/10", 4, "", False),
    ("7/10 - ok", 4, "ok", False),
    ("The kettle works again. 5/5", 5, "The kettle works again.", False),
    ("4 von 5, danke", 4, "danke", False),
    ("4 sur 5", 4, "", False),
    # Cues.
    ("Rating: 3", 3, "", False),
    ("I'd give you a 4", 4, "", False),
    ("Honestly a 4. The tea was lovely.", 4, "The tea was lovely.", False),
    ("score 5", 5, "", False),
    # Stars.
    ("*****", 5, "", False),
    ("***", 3, "", False),
    ("★★★★☆", 4, "", False),
    ("★★★★★ wonderful", 5, "wonderful", False),
    ("⭐⭐⭐⭐⭐", 5, "", False),
    ("5 stars but the box was damaged", 5, "but the box was damaged", False),
    ("four stars", 4, "", False),
    ("5 Sterne, alles bestens", 5, "alles bestens", False),
    ("5 étoiles, merci", 5, "merci", False),
    ("Top, 5 estrellas", 5, "Top", False),
    # Words, English.
    ("five", 5, "", False),
    ("Excellent!!! Will order again.", 5, "Will order again", False),
    ("great", 5, "great", False),
    ("very good", 5, "very good", False),
    ("good", 4, "good", False),
    ("ok", 3, "ok", False),
    ("poor", 2, "poor", False),
    ("terrible, nobody answered for a week", 1, "nobody answered", False),
    ("not good", 2, "not good", False),
    ("not bad", 3, "not bad", False),
    # Other languages.
    ("fünf", 5, "", False),
    ("Sehr gut, danke!", 5, "danke", False),
    ("ausgezeichnet", 5, "ausgezeichnet", False),
    ("schlecht", 2, "schlecht", False),
    ("cinq", 5, "", False),
    ("très bien", 5, "très bien", False),
    ("nul", 1, "nul", False),
    ("cinco", 5, "", False),
    ("excelente servicio", 5, "servicio", False),
    ("muy malo", 1, "muy malo", False),
    ("cinque", 5, "", False),
    ("ottimo", 5, "ottimo", False),
    ("pessimo", 1, "pessimo", False),
    ("vijf", 5, "", False),
    ("uitstekend", 5, "uitstekend", False),
    ("slecht", 2, "slecht", False),
    ("ótimo atendimento", 5, "atendimento", False),
    ("péssimo", 1, "péssimo", False),
    ("пять", 5, "", False),
    ("pięć", 5, "", False),
    ("pět", 5, "", False),
    ("\uff15", 5, "", False),  # a full-width 5, as Japanese keyboards type it
    # Quoted survey, signatures and footers below the answer.
    (f"5\n\n{SURVEY}", 5, "", False),
    (f"4 - lovely tea\n\n{SURVEY}", 4, "lovely tea", False),
    (f"2\n\n{OUTLOOK_SURVEY}", 2, "", False),
    ("5 thank you!\n\n-- \nZoë Martin\nMartin & Co.\n+44 20 7946 0958", 5, "thank you!", False),
    ("4\n\nSent from my iPhone", 4, "", False),
    ("3\nGet Outlook for Android", 3, "", False),
    ("Great service, thank you\n-- \nZoë", 5, "Great service", False),
    # Answers that also ask something.
    ("5 thanks! When will the blue one be back in stock?", 5, "blue one", True),
    ("4. Do you also sell the matching cups?", 4, "matching cups", True),
    ("2 - I still haven't received the refund", 2, "refund", True),
    ("1 can you call me please", 1, "call me", True),
    # No rating.
    ("Thanks!", None, "Thanks!", False),
    ("See you next time", None, "See you next time", False),
    ("order 12345 arrived", None, "12345", False),
    ("it took 3 days", None, "3 days", False),
    ("a 4 day delay was annoying", None, "delay", False),
    (f"Thanks for the lid\n\n{SURVEY}", None, "Thanks for the lid", False),
    ("0", None, "0", False),
    ("6", None, "6", False),
    ("7", None, "7", False),
    ("The lid broke again, can you help?", None, "lid broke", True),
]


@pytest.mark.parametrize(("text", "score", "comment", "question"), ANSWERS)
def test_survey_answers(text: str, score: int | None, comment: str, question: bool) -> None:
    answer = read_survey_answer(text)
    assert answer.score == score, answer
    if comment:
        assert comment in answer.comment, answer
    else:
        assert answer.comment == "", answer
    assert answer.question is question, answer
    assert answer.reason.startswith("rating" if score else "no rating")


def test_there_are_enough_answers_in_the_table() -> None:
    assert len(ANSWERS) >= 60
    assert len({text for text, *_ in ANSWERS}) == len(ANSWERS)


def test_the_quoted_question_is_never_read() -> None:
    # "1 to 5" sits in the quoted survey; the answer above it has no rating.
    assert read_survey_answer(f"Cheers\n\n{SURVEY}").score is None
    assert read_survey_answer(SURVEY).score is None


@given(st.text(max_size=300))
def test_reading_never_fails_and_scores_stay_in_range(text: str) -> None:
    answer = read_survey_answer(text)
    assert answer.score is None or 1 <= answer.score <= 5
    assert isinstance(answer.comment, str) and answer.reason


CONSENTS = [
    ("yes", "yes", "full"),
    ("Yes please", "yes", "full"),
    ("Sure, go ahead!", "yes", "full"),
    ("Of course! Use my full name.", "yes", "full"),
    ("yes but only my initials", "yes", "initials"),
    ("Yes - first name only", "yes", "first"),
    ("Happy for you to, just my first name", "yes", "first"),
    ("Absolutely, initials please", "yes", "initials"),
    ("Please use it anonymously", "yes", "anonymous"),
    ("no name please, but yes", "yes", "anonymous"),
    ("Ja, gerne", "yes", "full"),
    ("oui", "yes", "full"),
    ("sí, claro", "yes", "full"),
    ("sim", "yes", "full"),
    ("no", "no", "full"),
    ("No thanks", "no", "full"),
    ("I'd rather not", "no", "full"),
    ("yes... actually no, please don't", "no", "full"),
    ("Nein danke", "no", "full"),
    ("non merci", "no", "full"),
    ("hmm let me think", None, "full"),
    (f"Yes, first name only\n\n{SURVEY}", "yes", "first"),
]


@pytest.mark.parametrize(("text", "answer", "name_form"), CONSENTS)
def test_consent(text: str, answer: str | None, name_form: str) -> None:
    consent = read_consent(text)
    assert (consent.answer, consent.name_form) == (answer, name_form), consent


UNSUBSCRIBES = [
    ("unsubscribe", True),
    ("Unsubscribe me please", True),
    ("STOP", True),
    ("Please stop", True),
    ("Please remove me from your list", True),
    ("no more emails", True),
    ("opt out", True),
    ("Stop sending me these surveys!", True),
    ("abmelden", True),
    ("désabonner", True),
    ("darse de baja", True),
    ("afmelden", True),
    ("unsubscribe\n\nThanks\nZoë", True),
    (f"unsubscribe\n\n{SURVEY}", True),
    ("I can't unsubscribe from the newsletter on your site, can you help?", False),
    ("5 great", False),
    ("Please stop the order, I ordered the wrong size and need a refund quickly", False),
    ("", False),
]


@pytest.mark.parametrize(("text", "wanted"), UNSUBSCRIBES)
def test_unsubscribe(text: str, wanted: bool) -> None:
    assert asks_to_unsubscribe(text) is wanted
