"""Reading a customer's answer to our questions: a rating from 1 to 5, a yes to quoting, "unsubscribe".

The thank-you note asks "reply with a number from 1 to 5, and anything you'd
like to add". Customers answer the way people write: ``5``, ``4/5``, ``8/10``,
``*****``, ``★★★★☆``, ``five stars``, ``excellent``, ``sehr gut``, ``1, the
part broke again``, often above the quoted question (which itself holds "1 to
5" and must never be read) and a signature. :func:`read_survey_answer` finds
the rating, what the customer added, and whether the answer also asks
something (then the ticket must open again).

Only the answer's own words count: the text goes through
:func:`helpdesk.intake.quoting.strip_reply` first, and ``>`` lines and
anything below a signature separator are dropped as well. A number is a
rating by its place (alone, or first on the answer's first line, followed
by punctuation or words) or by its wording (``4/5``, ``4 out of 5``, ``4
stars``, ``rating: 4``, ``give you a 4``) — never any number in the text:
"order 12345 arrived" and "it took 3 days" are no rating. A 10-point answer
(``8/10``) is halved, halves rounding up.

Words, in English, German, French, Spanish, Italian, Dutch, Portuguese,
Swedish, Polish, Czech and Russian, are in :data:`RATING_WORDS` (number words
one to five and a small vocabulary of praise and blame; "great" is 5, "good"
4, "ok" 3, "poor" 2, "terrible" 1). A simple negation flips praise to blame:
"not good" is 2, "not bad" 3.

:func:`read_consent` reads the answer to "may we quote you?" (yes or no, and
how to be named: full name, first name, initials, or not at all); a "no"
anywhere wins over a "yes", so "yes... actually no, please don't" is a no.
:func:`asks_to_unsubscribe` recognises a short answer that only asks to stop
the mail.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from helpdesk.intake.quoting import strip_reply

__all__ = ["Consent", "SurveyAnswer", "asks_to_unsubscribe", "read_consent", "read_survey_answer"]


@dataclass(frozen=True)
class SurveyAnswer:
    """How an answer to the satisfaction question reads.

    ``score`` is 1 to 5, or None when the text gives no rating; ``comment`` is
    what the customer added, the rating removed; ``question`` says the answer
    also asks for something; ``reason`` says in one line how it was read.
    """

    score: int | None
    comment: str
    question: bool
    reason: str


@dataclass(frozen=True)
class Consent:
    """The answer to "may we quote you?": "yes", "no" or None, and how to be named."""

    answer: str | None
    name_form: str
    reason: str


# Number words from one to five, by language.
_NUMBER_WORDS = {
    1: "one un une uno una eins ein eine een um uma ett jeden jedna jedno один одна",
    2: "two deux dos due zwei twee dois duas två dwa dwie dva dvě два две",
    3: "three trois tres tre drei drie três tři trzy три",
    4: "four quatre cuatro quattro vier quatro fyra cztery čtyři четыре",
    5: "five cinq cinco cinque fünf funf vijf fem pięć piec pět пять",
}
# Praise and blame, by the score they mean. Multi-word phrases are matched
# before single words; the first match in the answer counts.
_OPINION_WORDS = {
    5: (
        "excellent outstanding perfect superb amazing fantastic brilliant wonderful awesome great "
        "exceptional flawless ausgezeichnet hervorragend perfekt super toll prima exzellent "
        "parfait génial genial formidable magnifique excelente perfecto estupendo fantástico "
        "eccellente ottimo perfetto fantastico uitstekend perfect geweldig fantastisch "
        "ótimo otimo perfeito utmärkt fantastiskt doskonale świetnie výborně skvělé отлично"
    ),
    4: "good gut bien bueno buena buono buona goed bom boa bra dobrze dobře хорошо",
    3: "ok okay fine average alright decent mittel passable regular normale prima redelijk razoável",
    2: (
        "poor bad disappointing mediocre unhappy schlecht mauvais mal malo mala cattivo scarso "
        "slecht ruim dålig słabo špatně плохо"
    ),
    1: (
        "terrible awful horrible useless appalling dreadful worst furchtbar schrecklich miserabel "
        "nul horrible nulo pésimo pessimo terribile vreselijk péssimo pessimo hemskt fatalnie "
        "hrozné ужасно"
    ),
}
_OPINION_PHRASES = {
    5: (
        "very good", "very very good", "really good", "sehr gut", "très bien", "tres bien", "muy bien",
        "molto bene", "zeer goed", "heel goed", "muito bom", "muito bem", "mycket bra", "bardzo dobrze",
        "velmi dobře", "очень хорошо", "top notch", "could not be better", "couldn't be better",
    ),
    2: ("not good", "nicht gut", "pas bien", "no muy bien", "non bene", "niet goed", "não muito bom"),
    3: ("not bad", "nicht schlecht", "pas mal", "no está mal", "non male", "niet slecht", "so so", "so-so"),
    1: ("very bad", "very poor", "sehr schlecht", "très mauvais", "muy malo", "molto male", "zeer slecht"),
}  # fmt: skip
RATING_WORDS: dict[str, int] = {
    word: score for score, words in {**_NUMBER_WORDS}.items() for word in words.split()
} | {word: score for score, words in _OPINION_WORDS.items() for word in words.split()}
_NUMBER_WORD_SET = {word for words in _NUMBER_WORDS.values() for word in words.split()}
# Words that say "not" in front of an opinion word.
_NEGATIONS = {"not", "nicht", "pas", "no", "non", "niet", "não", "nao", "inte", "nie", "ne", "не"}
# Star glyphs: filled and empty.
_FILLED = "★⭐*🌟"
_EMPTY = "☆✩"
_STARS = re.compile(rf"[{re.escape(_FILLED + _EMPTY)}\ufe0f\s]{{3,}}|[{re.escape(_FILLED)}]\ufe0f?")
# "4/5", "4 / 5", "4 out of 5", "4 von 5", "4 sur 5", "4 de 5", "4 su 5", "4 uit 5", "8/10".
_SCALE = re.compile(
    r"(?<![\d.,])(\d{1,2})(?:[.,]\d)?\s*(?:/|out\s+of|of|von|sur|de|su|uit|av|z|ze|из)\s*(5|10)(?!\d)",
    re.IGNORECASE,
)
# "4 stars", "five stars", "5 Sterne", "5 étoiles", "5 estrellas", "5 stelle", "5 sterren".
_STAR_WORD = (
    r"(?:stars?|sterne?n?|étoiles?|etoiles?|estrellas?|stelle|stella|sterren|ster|estrelas?|stjärnor|"
    r"gwiazd\w*|hvězd\w*|звезд\w*)"
)
# "rating: 4", "I'd give you a 4", "score 4", "note : 4", "Bewertung 4", "honestly a 4.".
_CUE = re.compile(
    r"(?:(?:i'd\s+|i\s+would\s+|i'll\s+|i\s+)?(?:rate|give)\s+(?:you|it|us|this)?(?:\s+an?)?|rating|score|"
    r"gebe\s+(?:ihnen|euch)|bewertung|note|nota|voto|cijfer|betyg|ocena|hodnocení|оценка)"
    r"\s*[:=]?\s*(\d{1,2})(?!\d)|(?<!\w)an?\s+([1-5])(?=\s*(?:[.!,;)]|$))",
    re.IGNORECASE,
)
# A number that opens the answer: "5", "4 - quick", "1, the part…", "3.", "5!", "5 great service".
_LEADING = re.compile(r"^[\s(\[]*(\d{1,2})(?![\d/.,:]\d)(?:\s*[).\]!,:;\-\u2013\u2014]+|\s+|$)")
# Lines that end the answer's own words: a signature separator, mobile footers.
_SIGNATURE = re.compile(
    r"^(--\s*|__+|sent from my .*|get outlook for .*|von meinem .* gesendet|envoyé de mon .*|"
    r"enviado desde mi .*|inviato da .*|verzonden vanaf .*)$",
    re.IGNORECASE,
)
# Asking for something: the ticket must open again.
_REQUESTS = re.compile(
    r"\b(?:please\s+(?:send|call|help|check|tell|let|contact|refund|replace|fix)|can\s+you|could\s+you|"
    r"would\s+you|i\s+need|we\s+need|when\s+will|how\s+do\s+i|how\s+can\s+i|still\s+waiting|"
    r"(?:haven't|have\s+not|hasn't|never)\s+(?:received|arrived|got)|bitte\s+(?:senden|schicken|rufen)|"
    r"können\s+sie|könnten\s+sie|wann\s+kommt|pouvez-vous|pourriez-vous|quand\s+est-ce|"
    r"podría|puede\s+usted|cuándo|potete|potreste|kunnen\s+jullie|kunt\s+u|wanneer|podem|poderiam|quando)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)?", re.UNICODE)


def _answer_lines(text: str) -> list[str]:
    """The answer's own lines: quoted history, ``>`` lines and everything below a signature gone."""
    lines = []
    for line in strip_reply(text).splitlines():
        stripped = line.strip()
        if _SIGNATURE.match(stripped):
            break
        if stripped.startswith(">"):
            continue
        lines.append(line.rstrip())
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _plain(text: str) -> str:
    """Full-width digits and letters made plain (full-width digits are plain digits), case folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def _star_count(match: str) -> tuple[int, int]:
    return sum(match.count(glyph) for glyph in _FILLED), sum(match.count(glyph) for glyph in _EMPTY)


def _from_scale(value: int, scale: int) -> int | None:
    if scale == 10:
        value = (value + 1) // 2
    return value if 1 <= value <= 5 and value <= scale else None


@dataclass(frozen=True)
class _Found:
    """A rating found in a line: its score, where it stands, how it was written.

    ``by_words`` ratings ("very good") stay in the comment: the words are the comment.
    """

    score: int
    start: int
    end: int
    how: str
    by_words: bool = False


def _find_in_line(line: str, first: bool) -> _Found | None:
    """The rating in one line of the answer, if the line gives one."""
    plain = _plain(line)
    match = _SCALE.search(plain)
    if match:
        score = _from_scale(int(match.group(1)), int(match.group(2)))
        if score is not None:
            return _Found(score, match.start(), match.end(), f'"{match.group(0).strip()}"')
    match = re.search(rf"(?<!\d)(\d)\s*{_STAR_WORD}\b", plain)
    if match and 1 <= int(match.group(1)) <= 5:
        return _Found(int(match.group(1)), match.start(), match.end(), f'"{match.group(0)}"')
    match = re.search(rf"\b([^\W\d_]+)\s+{_STAR_WORD}\b", plain)
    if match and match.group(1) in _NUMBER_WORD_SET:
        return _Found(RATING_WORDS[match.group(1)], match.start(), match.end(), f'"{match.group(0)}"')
    for stars in _STARS.finditer(line):
        filled, empty = _star_count(stars.group(0))
        if 1 <= filled <= 5 and filled + empty in (filled, 5) and (filled + empty >= 3 or filled == 1):
            if filled == 1 and not empty and stars.group(0).strip() == "*":
                continue
            return _Found(filled, stars.start(), stars.end(), f'{filled} star{"s" if filled > 1 else ""}')
    match = _CUE.search(plain)
    if match:
        score = _from_scale(int(match.group(1) or match.group(2)), 5)
        if score is not None:
            return _Found(score, match.start(), match.end(), f'"{match.group(0).strip()}"')
    if first:
        match = _LEADING.match(plain)
        if match:
            score = _from_scale(int(match.group(1)), 5)
            if score is not None:
                return _Found(score, match.start(1), match.end(), f'"{match.group(1)}" first in the answer')
    return _word_rating(plain, first)


def _word_rating(plain: str, first: bool) -> _Found | None:
    """A rating by words: a phrase ("very good", "not bad") or a word ("excellent", "vier")."""
    for score, phrases in _OPINION_PHRASES.items():
        for phrase in phrases:
            match = re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", plain)
            if match:
                return _Found(score, match.start(), match.end(), f'"{phrase}"', by_words=True)
    for word in _WORD.finditer(plain):
        score = RATING_WORDS.get(word.group(0))
        if score is None:
            continue
        # A number word counts only where it stands as the answer ("five", "vier!"), not in a sentence.
        number = word.group(0) in _NUMBER_WORD_SET
        if number and not (first and word.start() == len(plain) - len(plain.lstrip())):
            continue
        before = plain[: word.start()].split()
        if before and before[-1] in _NEGATIONS:
            score = 2 if score >= 4 else 3
            start = word.start() - len(before[-1]) - 1
            return _Found(score, start, word.end(), f'"not {word.group(0)}"', by_words=True)
        return _Found(score, word.start(), word.end(), f'"{word.group(0)}"', by_words=not number)
    return None


def _comment(lines: list[str], index: int, found: _Found) -> str:
    """The answer without the rating: what the customer added."""
    if found.by_words:
        return "\n".join(line.strip() for line in lines).strip()
    line = lines[index]
    plain = _plain(line)
    # Offsets are of the normalized line; the normalized form is what the comment keeps.
    rest = (plain[: found.start] + " " + plain[found.end :]) if plain != line.casefold() else None
    if rest is None:
        rest = line[: found.start] + " " + line[found.end :]
    others = [*lines[:index], rest, *lines[index + 1 :]]
    text = "\n".join(part.strip() for part in others).strip()
    text = re.sub(r"^[\s\-\u2013\u2014:,.;!|)]+", "", text)
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def _asks(text: str) -> bool:
    return "?" in text or "¿" in text or _REQUESTS.search(text) is not None


def read_survey_answer(text: str) -> SurveyAnswer:
    """How ``text`` answers "reply with a number from 1 to 5": the rating, the comment, a question."""
    lines = _answer_lines(text)
    content = [(index, line) for index, line in enumerate(lines) if line.strip()]
    for position, (index, line) in enumerate(content):
        found = _find_in_line(line, first=position == 0)
        if found is None:
            continue
        comment = _comment(lines, index, found)
        question = _asks(comment)
        how = f"rating {found.score} from {found.how}"
        return SurveyAnswer(found.score, comment, question, how + ("; it asks something" if question else ""))
    whole = "\n".join(lines).strip()
    return SurveyAnswer(None, whole, _asks(whole), "no rating found")


_YES = re.compile(
    r"^(?:yes|yeah|yep|yup|sure|of course|ok|okay|absolutely|certainly|definitely|go ahead|please do|"
    r"happy for you to|fine by me|by all means|ja|jawohl|gerne|natürlich|klar|oui|bien sûr|volontiers|"
    r"sí|si|claro|por supuesto|certo|certamente|sim|claro que sim|tak|ano|да)\b",
    re.IGNORECASE,
)
_NO = re.compile(
    r"(?:^(?:no|nope|nah|nein|non|não|nao|nej|nie|ne|нет)\b|\b(?:rather not|please don't|please do not|"
    r"don't quote|do not quote|don't use|do not use|not comfortable|lieber nicht|bitte nicht|"
    r"plutôt pas|prefiero que no|preferisco di no|liever niet|prefiro que não)\b)",
    re.IGNORECASE,
)
_NAME_FORMS = (
    ("anonymous", re.compile(r"anonym\w*|without (?:my )?name|no name|not (?:by|with) (?:my )?name|"
                             r"don't (?:use|name|mention) (?:my )?name|do not (?:use|name) (?:my )?name|"
                             r"ohne (?:meinen )?namen|sans (?:mon )?nom|sin (?:mi )?nombre", re.IGNORECASE)),
    ("initials", re.compile(r"initials?|initialen|initiales|iniciales|iniziali|iniciais", re.IGNORECASE)),
    ("first", re.compile(r"first name|given name|just (?:my )?first|only (?:my )?first|vorname\w*|prénom|"
                         r"nombre de pila|solo (?:il )?nome|voornaam|primeiro nome", re.IGNORECASE)),
    ("full", re.compile(r"full name|whole name|vollen namen|nom complet|nombre completo|volledige naam",
                        re.IGNORECASE)),
)  # fmt: skip


def read_consent(text: str) -> Consent:
    """How ``text`` answers "may we quote your words?": yes or no, and the name form wanted."""
    answer_text = " ".join(line.strip() for line in _answer_lines(text)).strip()
    plain = answer_text.casefold()
    name_form = next((form for form, pattern in _NAME_FORMS if pattern.search(plain)), "full")
    parts = re.split(r"[.!;\n]+|,\s*(?:but|actually)\s+", plain)
    sentences = [part.strip() for part in parts if part.strip()]
    said_no = any(_NO.search(sentence) for sentence in sentences)
    said_yes = any(_YES.search(sentence) for sentence in sentences)
    if said_no and not (name_form == "anonymous" and said_yes and not _declines(plain)):
        return Consent("no", name_form, "no to being quoted")
    if said_yes:
        return Consent("yes", name_form, f"yes to being quoted, named: {name_form}")
    if name_form != "full" or re.search(r"\b(?:quote|use) (?:it|me|them)\b", plain):
        return Consent("yes", name_form, f"an answer about the name to use ({name_form}), taken as yes")
    return Consent(None, name_form, "neither yes nor no")


def _declines(plain: str) -> bool:
    """A no about the quote itself, not about the name ("no name please" is a yes, anonymously)."""
    pattern = r"^(?:no|nope|nein|non|não)\b(?!\s+name)|rather not|don't quote|do not quote"
    return re.search(pattern, plain) is not None


_UNSUBSCRIBE = re.compile(
    r"^(?:please\s+)?(?:unsubscribe(?:\s+me)?|stop(?: sending (?:me )?(?:these|your|this|the)?(?: \w+)?)?|"
    r"opt[\s-]?out|"
    r"remove me(?: from (?:your|the|this) (?:list|mailing list))?|"
    r"no more (?:e-?mails?|mails?|messages)|don't (?:e-?mail|write to) me again|"
    r"abmelden|abbestellen|keine (?:e-?mails?|werbung) mehr|désabonner|se désabonner|désinscrire|"
    r"darse de baja|dar de baja|baja|cancella(?:mi)?|disiscrivimi|afmelden|uitschrijven|"
    r"cancelar (?:inscrição|subscrição)|descadastrar|avsluta|wypisz(?: mnie)?|odhlásit|отписаться)"
    r"(?:\s+(?:please|thanks|thank you|bitte|merci|por favor|grazie|alstublieft|obrigado))?[.!]*$",
    re.IGNORECASE,
)


def asks_to_unsubscribe(text: str) -> bool:
    """Whether ``text`` is (essentially) only a request to stop the non-essential mail."""
    lines = [line.strip() for line in _answer_lines(text) if line.strip()]
    if not lines or len(lines) > 3:
        return False
    first = re.sub(r"\s+", " ", lines[0]).strip(" ,")
    greetings_only = all(len(line.split()) <= 3 and "?" not in line for line in lines[1:])
    return bool(_UNSUBSCRIBE.match(first)) and greetings_only
