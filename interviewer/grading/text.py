"""Plain-text analysis of candidate answers: units, tokens, and the guards' detectors.

Everything here is pure and cheap; the grader combines it with embedding similarities.
"""

from __future__ import annotations

import re
import unicodedata

# A sentence ends at . ! ? or ; before a space, but not at "e.g." and its kin ("e.g. zero" is no sentence).
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?;])(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\bvs\.)(?<!\bcf\.)\s+|\n+", re.I)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "to",
        "of",
        "in",
        "on",
        "for",
        "with",
        "by",
        "as",
        "at",
        "from",
        "and",
        "or",
        "but",
        "so",
        "because",
        "which",
        "who",
        "whom",
        "whose",
        "what",
        "when",
        "where",
        "why",
        "how",
        "than",
        "then",
        "if",
        "while",
        "into",
        "onto",
        "over",
        "under",
        "between",
        "through",
        "during",
        "can",
        "could",
        "should",
        "would",
        "will",
        "may",
        "might",
        "must",
        "do",
        "does",
        "did",
        "has",
        "have",
        "had",
        "not",
        "no",
        "they",
        "them",
        "their",
        "we",
        "our",
        "you",
        "your",
        "he",
        "she",
        "his",
        "her",
        "i",
        "me",
        "my",
        "there",
        "here",
        "such",
        "each",
        "more",
        "most",
        "less",
        "very",
        "also",
        "just",
        "only",
        "both",
        "either",
        "neither",
        "all",
        "any",
        "some",
        "many",
        "much",
    ]
)

STOPWORDS = FUNCTION_WORDS | frozenset(
    [
        "explain",
        "describe",
        "define",
        "discuss",
        "compare",
        "contrast",
        "what",
        "why",
        "how",
        "does",
        "do",
        "elaborate",
        "give",
        "example",
        "examples",
        "role",
        "purpose",
        "concept",
        "term",
        "terms",
        "difference",
        "differences",
        "between",
        "use",
        "used",
        "using",
        "work",
        "works",
        "mean",
        "means",
    ]
)

# Words that talk about the question rather than answer it ("so you're asking me to explain…").
META_WORDS = frozenset(
    [
        "question",
        "questions",
        "asking",
        "ask",
        "asked",
        "asks",
        "want",
        "wants",
        "wanted",
        "know",
        "talk",
        "talking",
        "say",
        "saying",
        "go",
        "going",
        "over",
        "about",
        "basically",
        "thing",
        "things",
        "topic",
        "interviewer",
        "me",
        "i'm",
        "im",
        "need",
        "supposed",
        "should",
        "detail",
        "details",
        "context",
        "cover",
        "covering",
        "describe",
        "meaning",
        "means",
        "understand",
        "understanding",
    ]
)
_META = re.compile(
    r"\b(the question|this question|you'?re asking|you are asking|you want(?: me)? to|i'?m asked|"
    r"i am asked|i (?:need|have|should|am supposed) to (?:explain|talk|describe|define|say|discuss)|"
    r"asking (?:me )?(?:about|to|what|how|why)|so (?:this|it) is about|the scenario is)\b",
    re.I,
)

_FILLERS = re.compile(
    r"\b(um+|uh+|erm+|hmm+|like,|you know,?|i mean,?|basically,?|so yeah,?|kind of|sort of)\s*", re.I
)

_DONT_KNOW = re.compile(
    r"\b(i\s*(?:do\s*not|don'?t|dont)\s*know|idk|no idea|not sure|no clue|dunno|can'?t remember|"
    r"don'?t remember|no answer|pass|skip(?:ping)?|nothing comes to mind|i'?m blanking|n/?a)\b",
    re.I,
)


def units(answer: str) -> list[str]:
    """Sentence-like units of an answer: lines first (bullets and numbers stripped), then sentences.
    A unit ending in ";" is a clause its sentence goes on from, on the same line: a ";" that ends a
    line (a list item's) is dropped."""
    out: list[str] = []
    for line in answer.splitlines():
        line = _BULLET.sub("", line).rstrip().removesuffix(";")
        for piece in _SENTENCE_SPLIT.split(line):
            piece = piece.strip().strip("`").strip()
            if len(_WORD.findall(piece.lower())) >= 1:
                out.append(piece)
    return out


def sentences(text: str) -> list[str]:
    """The text cut at sentence ends and line breaks, each piece stripped, blank ones dropped."""
    return [s.strip() for s in _SENTENCE_SPLIT.split(text) if s and s.strip()]


_CLAUSE_SPLIT = re.compile(r",\s+|;\s+|:\s+|\s+-\s+|\s+(?:and|or|but|while|whereas|which)\s+", re.I)


def clauses(unit: str, min_words: int = 10) -> list[str]:
    """Parts of a long sentence, so "fixes are ReLU, He init, batch norm and skip connections" can
    match each key point it names; short sentences are already atomic."""
    if len(words(unit)) < min_words:
        return []
    parts = [p.strip() for p in _CLAUSE_SPLIT.split(unit)]
    parts = [p for p in parts if len(words(p)) >= 2]
    return parts if len(parts) >= 2 else []


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOPWORDS and len(w) > 1]


def strip_fillers(text: str) -> str:
    """Spoken-style fillers removed, so "um, so basically" neither helps nor hurts."""
    return re.sub(r"\s{2,}", " ", _FILLERS.sub("", text)).strip()


# ---- the answer's language ------------------------------------------------------------------------
# Only English is graded. A small heuristic: the script of the letters (Chinese, Cyrillic, …), and for
# Latin script whether the common function words are English or another language's. Single letters
# and words English shares ("die", "es", "hat", "im", "per", "non", "come") are left out, so code and
# terse English ("neuron dies, gradient dies") stay English.
def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_OTHER_STOPWORDS: dict[str, frozenset[str]] = {
    "Spanish": _word_set(
        "de la que el en los las del por con una para es se lo como más pero sus al está este esta entre "
        "cuando muy sin sobre también hay donde desde puede cada porque su le capa datos"
    ),
    "French": _word_set(
        "le la les des du de et est une que qui dans pour pas sur au aux ce cette avec sont par mais "
        "ne leur il elle nous vous réseau couche données"
    ),
    "German": _word_set(
        "der das und ist nicht mit den dem des ein eine einer einen eines zu zum zur von auf für über "
        "sich auch werden wird sind oder aber bei nach durch dass diese dieser diesem kann können wenn "
        "weil nur noch wie ich kein keine gibt aus vom beim netz schicht daten sie im ja damit alle "
        "beiden anderen sehr muss zwischen jedoch dann denn wir uns immer schon mehr eigentlich "
        "außerdem nämlich bzw dabei daher sowie welche welcher"
    ),
    "Italian": _word_set(
        "il di che è la le un una sono del della con gli nel nella anche più rete strato dati"
    ),
    "Portuguese": _word_set("de que não em uma os da dos das para com por mais é rede camada dados"),
}
_SCRIPTS = (
    ("CJK", "Chinese"),
    ("HIRAGANA", "Japanese"),
    ("KATAKANA", "Japanese"),
    ("HANGUL", "Korean"),
    ("CYRILLIC", "Russian"),
    ("ARABIC", "Arabic"),
    ("HEBREW", "Hebrew"),
    ("DEVANAGARI", "Hindi"),
    ("GREEK", "Greek"),
    ("THAI", "Thai"),
)
_LATIN_TOKEN = re.compile(r"[^\W\d_]+", re.U)
# Letters only German of these languages writes, in words English does not borrow ("naïve", "café",
# "résumé" do, so French and Spanish accents are no evidence): where the answer has one of German's
# function words (one spelt without them), a word holding one of them, and no letter German does not
# write, counts as German too (mojibake such as "‚Äôs" holds other letters; "Schrödinger, Gödel" alone
# are names).
_OWN_LETTERS = {"German": re.compile("[a-zäöüß]*[äöüß][a-zäöüß]*")}
# A run of letters and digits (a hash, an id, "4a7d-ab07") holds no words: "de" in a hex id is not Spanish.
_HAS_DIGIT = re.compile(r"\S*\d\S*")


def answer_language(answer: str) -> str | None:
    """The language an answer is written in when it is plainly not English ("Chinese", "Spanish"…),
    else None (English, or too little text to tell: a short answer or a list of terms is English)."""
    letters = [c for c in answer if c.isalpha()]
    if not letters:
        return None
    scripts: dict[str, int] = {}
    for c in letters:
        if c.isascii():
            continue
        name = unicodedata.name(c, "")
        for prefix, language in _SCRIPTS:
            if name.startswith(prefix):
                scripts[language] = scripts.get(language, 0) + 1
                break
    if scripts:
        language, n = max(scripts.items(), key=lambda kv: kv[1])
        if language == "Chinese" and (scripts.get("Japanese") or 0) > 0:
            language = "Japanese"
        if n >= 0.3 * len(letters) and n >= 2:
            return language
    tokens = [t.lower() for t in _LATIN_TOKEN.findall(_HAS_DIGIT.sub(" ", answer)) if len(t) > 1]
    if len(tokens) < 4:
        return None
    english = sum(t in FUNCTION_WORDS for t in tokens)

    def evidence(language: str, words: frozenset[str]) -> int:
        said = sum(t in words for t in tokens)
        own = _OWN_LETTERS.get(language)
        # Umlauts count once a function word without one says so too ("über-simple" is English).
        if own is None or not any(t in words and own.fullmatch(t) is None for t in tokens):
            return said
        return said + sum(t not in words and own.fullmatch(t) is not None for t in tokens)

    best, count = max(
        ((lang, evidence(lang, words)) for lang, words in _OTHER_STOPWORDS.items()),
        key=lambda kv: kv[1],
    )
    if count >= 2 and count > 2 * english and count >= 0.15 * len(tokens):
        return best
    return None


def is_blank(answer: str) -> bool:
    return not words(answer)


def is_dont_know(answer: str) -> bool:
    """A short answer that says the candidate doesn't know (a long one may say it and then answer)."""
    tokens = words(answer)
    if not tokens:
        return False
    return len(tokens) <= 14 and bool(_DONT_KNOW.search(answer)) and len(content_words(answer)) <= 4


# Text aimed at the grader rather than the interviewer's question. Sentences that match are removed
# before grading, so an instruction can never add to a score; the Grade is flagged. The detector is a
# set of named patterns, each one of the shapes such text takes; it is measured on the strings in
# tests/data/injection/ (detection rate and false-positive rate, tests/test_injection.py), and it must
# stay silent on every rubric reference.

# Who a grader-directed text addresses. "model", "system" and "AI" alone are too common in answers to
# count as an addressee; they count only in the addressing shapes below ("to the AI reading this").
_WHO = (
    r"(?:auto-?graders?|graders?|grading\s+(?:ai|bot|model|system|engine|pipeline|script|tool|llm)"
    r"|evaluators?|evaluation\s+(?:model|system|engine|committee|board|ai|bot|pipeline|llm)"
    r"|scorers?|scoring\s+(?:ai|bot|model|system|engine|pipeline|script|tool|llm)"
    r"|assessors?|examiners?|markers?|reviewers?|judges?|checkers?"
    r"|(?:automated\s+)?(?:marking|grading|scoring|evaluation)\s+software|automated\s+(?:marking|grading|scoring))"
)
_WHO_ANY = rf"(?:{_WHO}|ai|llm|model|language\s+model|system|assistant|bot|admin|administrator)"
# What a score request names: a score, and a high value for it.
_SCORE = (
    r"(?:scor(?:e|es|ed|ing)|grad(?:e|es|ed|ing)|marks?|points?|credit|ratings?|rated?|verdict|stars?"
    r"|misconceptions?|key\s+points?|flag(?:ged)?|penali[sz]e|deduct|evaluat(?:e|ed|ion)|re-?evaluate"
    r"|assess(?:ed|ment)?|rubric|validated|approved|verified|certified|whitelisted|pre-?graded)"
)
_HIGH = (
    r"(?:5|five|full|perfect|maximum|max|top|highest|excellent|exemplary|a\+|pass(?:ed|es)?"
    r"|bonus)"
)
# A bare number counts as a score only when no other noun follows it ("give five examples" is not).
_NUM = (
    r"(?:5|five|10)(?![.,]?\d)(?=\s*(?:$|[^\w\s]|out\s+of|points?|marks?|stars?|and\s|so\s|for\s|on\s"
    r"|to\s|regardless|please|now|instead|automatically|by\s+default))"
)
_HIGH_WEAK = r"(?:correct|complete|generous(?:ly)?|lenient(?:ly)?|right)"
# "this answer", "my answer", "the answer above": the text under grading, named by itself.
_THIS = (
    r"(?:(?:this|the\s+following|my)\s+(?:\w+\s+)?(?:answers?|responses?|submissions?|items?|candidate)"
    r"|this\s+one|the\s+(?:answer|response|text|submission)\s+above|(?:give|grade|award|rate|score|mark)\s+me)"
)
_ASK = (
    r"(?:give|award|assign|grant|rate|score|mark|grade|record|log|set|output|return|print|respond|reply"
    r"|pass|treat|consider|count|accept|classify|bump|round|copy|keep|confirm|add|requesting|request)"
)

_INJECTION_SOURCES: dict[str, str] = {
    # "ignore all previous instructions", "disregard the rubric", "forget the key points"
    "override": (
        r"\b(?:ignore|ignoring|disregard|forget|bypass|override)\s+(?:all\s+|any\s+|the\s+|your\s+|my\s+"
        r"|every\s+|these\s+|those\s+)*(?:previous\s+|prior\s+|above\s+|earlier\s+|preceding\s+|former\s+"
        r"|original\s+|system\s+|grading\s+|scoring\s+)*(?:instructions?|rules|rubrics?|guidelines|criteria"
        r"|grading|scoring|evaluation|prompt|key\s+points?|reference(?:\s+answer)?|question|directions"
        r"|scale|missing)\b"
        r"|\bforget\s+(?:everything|all\s+(?:that|you))|\binstead\s+of\s+the\s+(?:rubric|instructions?"
        r"|reference|key\s+points|grading)|\bfollow\s+(?:my|these|the\s+following)\s+instructions"
        r"|\b(?:grading|scoring|marking|evaluation)\s+instructions|\boverride\b.{0,40}\b(?:score|grade)"
    ),
    # role tags and chat-template markers: "SYSTEM:", "[ADMIN]", "<system>", "<<SYS>>", "[INST]"
    "role": (
        r"^\W*(?:system|admin|administrator|developer|root|operator|moderator|assistant|user|human"
        r"|sys)\b(?:\s+(?:message|note|notice|override|prompt|instructions?|update))?"
        r"\s*(?:\([^)]*\))?\s*[:>\]]"
        r"|[\[<{]{1,2}\s*/?\s*(?:system|admin|sys|root|operator|moderator|inst|developer|instructions?"
        r"|grader\w*|evaluat\w*|scor\w*|grade|verdict|justification|candidate_answer|answer|reference_answer"
        r"|user|assistant|untrusted)\b"
        r"|<\|im_(?:start|end)\|>|<!--|/\*|#+\s*(?:instructions?|system|new\s+task|end\s+of|grader)"
        r"|\b(?:admin|developer|god|dan|debug|calibration|maintenance|sudo|root)\s+mode\b|\bjailbreak"
        r"|^\W*sudo\s|^\W*policy\s+(?:notice|update|override)\s*:|\bend_of_answer\b"
        r"|\bend\s+of\s+(?:the\s+)?(?:candidate|answer|response|input|transcript)\b"
    ),
    # a persona for the reader: "you are now GradeBot", "act as an evaluator", "as an AI language model"
    "persona": (
        r"\byou\s+are\s+(?:now\s+)?(?:an?\s+|the\s+|in\s+)?(?:\w+\s+){0,2}?(?:\w*bot\b|" + _WHO + r")"
        r"|\byou\s+are\s+now\b\s+(?:an?|the|in)\b|\bpretend\s+(?:you|to)\b|\bact\s+as\s+(?:an?|the)\s+"
        r"(?:\w+\s+)?" + _WHO + r"|\bas\s+an\s+ai\b|\bfrom\s+now\s+on\b|\blet'?s\s+play\s+a\s+game\b"
        r"|\byour\s+(?:new|real|actual|only)\s+task\b"
        r"|\b(?:new|updated|revised|real|actual)\s+instructions?\s*(?:[:(]|for\s+the\s+(?:\w+\s+)?"
        r"(?:model|ai|system|assistant|llm|" + _WHO + r"))"
    ),
    # addressing the grader: "Note to the grader", "Dear evaluator,", "AI grader, rate…", "(grader: 5)"
    "address": (
        r"\b(?:notes?|notice|message|reminder|footnote|instructions?|memo|hint|request|comment|ps|p\.s\.|nb"
        r"|n\.b\.)\s+(?:to|for)\s+(?:the\s+|any\s+|an?\s+|all\s+|self\s+and\s+to\s+the\s+)?(?:[\w-]+\s+){0,2}?"
        + _WHO_ANY
        + r"\b|\b(?:dear|hey|hi|hello|attention)\s+(?:the\s+|all\s+|any\s+|an?\s+)?(?:[\w-]+\s+){0,2}?"
        + _WHO_ANY
        + r"\s*[,:!]|^\W*to\s+(?:the\s+|all\s+|any\s+|an?\s+)?(?:[\w-]+\s+){0,2}?"
        + _WHO
        + r"\s*[,:!]|^\W*(?:[\w-]+\s+){0,2}?"
        + _WHO
        + r"(?:'s)?(?:\s+(?:notes?|instructions?|override|calibration))?\s*(?:\([^)]*\))?\s*[,:=]"
        r"|[\[(<{]\s*" + _WHO + r"\w*\s*[:=]|\bwho(?:ever|ms?)?\s+(?:or\s+whatever\s+)?(?:is\s+)?"
        r"(?:grades?|grading|scores?|scoring|evaluates?|evaluating|marks?|marking)\s*(?:this\b|[:,])"
        r"|\b(?:ai|llm|model|system|bot|you|anyone|someone)\b[^.]{0,20}\b(?:grading|scoring|evaluating"
        r"|judging|marking|assessing)\s+this\b|\bif\s+(?:this|it)\s+is\s+being\s+(?:graded|scored|evaluated"
        r"|judged|marked|assessed)|\b(?:ai|model|llm|language\s+model)\s+reading\s+this\b"
    ),
    # a claim that the rules changed: "the rubric has been updated", "new grading policy"
    "rules changed": (
        r"\b(?:rubric|answer\s+key|marking\s+(?:scheme|guide)|grading\s+(?:criteria|policy|scheme"
        r"|guidelines|rules|scale)|scoring\s+(?:guidelines|policy|rules|criteria)|reference\s+answer"
        r"|evaluation\s+policy)\b[^.]{0,40}?\b(?:changed|updated|revised|deprecated|revoked|replaced|modified"
        r"|overridden|no\s+longer|says|states|requires|exception)\b"
        r"|\b(?:new|updated|revised|current|official)\s+(?:rubric|answer\s+key|marking\s+(?:scheme|guide)"
        r"|grading\s+(?:policy|criteria|scheme|guidelines)|scoring\s+(?:guidelines|policy|rules)"
        r"|evaluation\s+policy)|\brubric\s+(?:update|override|change)|\bper\s+(?:the\s+)?(?:\w+\s+)?"
        r"(?:policy|administrator|admin)|\b(?:(?:company|accessibility|grading|scoring|evaluation|hiring|exam"
        r"|interview)\s+policy|administrator|admin|committee|exam\s+board|hiring\s+manager)\b[^.]{0,60}"
        r"\b(?:score[sd]?|grade[sd]?|marks|pass|approved|whitelisted|5)\b"
    ),
    # a score given or asked for: "5/5", "full marks", "Score: 5", {"grade": 5}
    "score value": (
        r"\b(?:5|five|10|ten)\s*(?:/|out\s+of|sur)\s*(?:5|five|10|ten)\b"
        r"|\b(?:full|top)\s+(?:marks|credit|points|score)|\bfull\s+mark\b|\b5\s+stars\b"
        r"|\b\w*(?:score|grade|rating|verdict|result|points|band|eval)\w*\s*(?:[:=]|of|is|should\s+be|must\s+be"
        r"|will\s+be|per\s+\w+\s+override:?)\s*[\"']?\s*(?:5|five|10|100|a\+|pass|excellent|perfect|max"
        r"|maximum|correct|full)\b(?![.,]\d|\s*%)"
        r"|\bgrade\s*:\s*a\b|\b(?:scored|graded|rated)\s+(?:at\s+)?(?:a\s+)?(?:5|five)\b(?![.,]\d|\s*%)"
        r"|\b(?:score|grade|rating)\s+(?:5|five)\b(?![.,]\d|\s*%)|[\"']\s*(?:score|grade|verdict|band|points"
        r"|evaluation|rationale)\s*[\"']\s*:|^\W*(?:feedback|justification|verdict|rationale|grading\s+note"
        r"|final\s+(?:grade|score))\s*:"
    ),
    # asking for it: "give this answer a 5", "output 5", "make it a 5", "rate my answer 5 stars"
    "request": (
        r"\b(?:give|award|assign|grant|rate|score|mark|grade|record|log|output|return|print|respond"
        r"|reply|scoring|rating)\s+(?:it\s+|this\s+|me\s+|(?:\w+\s+)?answer\s+|only\s+)?(?:with\s+)?"
        r"(?:as\s+)?(?:a\s+|an\s+|the\s+)?(?:score\s+of\s+|grade\s+of\s+|number\s+|digit\s+)?"
        r"(?:" + _NUM + r"|full\s+marks|full\s+credit|perfect|maximum\s+(?:score|grade|marks?|points)"
        r"|highest\s+(?:score|grade|marks?)|top\s+(?:score|grade|marks?))\b(?![.,]\d|\s*%)"
        r"|\bmake\s+it\s+(?:a\s+)?(?:5|five|perfect)\b|\b(?:give|award|grant)\s+me\b.{0,20}\b(?:points?"
        r"|marks?|score|credit|grade|5)\b|\bbe\s+(?:generous|lenient|kind|nice|gentle|easy)\b.{0,30}"
        r"\b(?:score|grade|marks?|points?|this\s+answer|5)\b|\bplease\s+be\s+(?:generous|lenient)"
        r"|\b(?:deserves?|merits?|earns?|worth|qualif\w+\s+for)\s+(?:a\s+|an\s+|the\s+)?(?:\w+\s+){0,2}?"
        r"(?:5|five|full|perfect|maximum|max|top|highest|score|grade|marks?|credit)\b"
        r"|\b(?:a|an)\s+(?:5|five|10|perfect\s+score|full\s+score)\s+(?:would|is|seems)\s+(?:be\s+)?(?:fair"
        r"|appropriate|reasonable|justified|warranted|deserved)"
        r"|\b(?:gets?|receives?|earns?|scores?)\s+(?:a\s+)?(?:5|five|full\s+marks|the\s+maximum|top\s+marks)"
        r"(?=\s*(?:[.!,;)]|$|/|out\s+of|points?|marks?|stars?|on\s+this|for\s+this|automatically"
        r"|by\s+default|regardless))"
        r"|\b(?:count|mark|treat|consider)\s+(?:all|every|each)\s+(?:the\s+)?key\s+points?"
        r"|^\W*(?:please\s+)?(?:do\s+not|don'?t|never)\s+(?:flag|penali[sz]e|deduct|dock|mark\s+\w+\s+down"
        r"|report\s+any\s+misconceptions)|\b(?:stop|skip|bypass|cancel)\s+(?:the\s+)?(?:grading|scoring"
        r"|evaluation|evaluating)\b"
    ),
    # foreign-language forms of the commonest attacks
    "other language": (
        r"\bignor\w*\b.{0,40}\b(?:instruc\w+|anweisung\w*|istruzion\w*)|\bnote\s+maximale"
        r"|\bnota\s+m[aá]xima|h[oö]chstnote|volle\s+punktzahl|punteggio\s+massimo|\b(?:correcteur|evaluador"
        r"|pr[uü]fer|valutatore)\b|忽略|满分|打\s*5\s*分|игнорируй|высший\s+балл|инструкци"
    ),
}
_INJECTION_PATTERNS = {name: re.compile(source, re.I) for name, source in _INJECTION_SOURCES.items()}
# …and the same asked of "this answer": a score noun or a high value next to the text itself.
_THIS_SCORED = re.compile(
    rf"\b{_THIS}\b(?=.*\b(?:{_SCORE}|{_HIGH})\b)|\b(?:{_SCORE}|{_HIGH})\b(?=.*\b{_THIS}\b)", re.I
)
_THIS_ASKED = re.compile(rf"\b{_ASK}\b(?=.*\b{_THIS}\b.*\b{_HIGH_WEAK}\b)", re.I)
_IMPERATIVE = re.compile(
    r"^\W*(?:please\s+|kindly\s+|just\s+|(?:could|would|can)\s+you\s+(?:please\s+|just\s+)?)?"
    r"(?:give|award|assign|grant|rate|score|mark|grade|record|output|return|print|respond|reply|pass|bump"
    r"|round|requesting|request|confirm)\b"
    rf"(?=.*\b(?:scor(?:e|es|ed|ing)|grades?|marks?|points?|credit|ratings?|verdict|{_HIGH}|{_HIGH_WEAK})\b"
    rf"|.*\b{_NUM})",
    re.I,
)
_SHORT_SCORE = re.compile(rf"\b(?:{_HIGH})\b.*\b(?:score|grade|marks?|points?)\b", re.I)
_SPACED = re.compile(r"(?<![\w.])(?:\w[ .]){2,}\w(?![\w])")


def _spaced_out(match: re.Match[str]) -> str:
    return match.group(0).replace(" ", "").replace(".", "")


def injection_reason(unit: str) -> str | None:
    """Which shape of grader-directed text a sentence takes ("override", "role", …), or None."""
    text = _SPACED.sub(_spaced_out, unit)
    for name, pattern in _INJECTION_PATTERNS.items():
        if pattern.search(text):
            return name
    if _THIS_SCORED.search(text) or _THIS_ASKED.search(text):
        return "this answer's score"
    if _IMPERATIVE.search(text):
        return "request"
    if len(words(text)) <= 4 and _SHORT_SCORE.search(text):
        return "score value"
    return None


def injection_units(answer_units: list[str]) -> list[int]:
    """Indices of units addressed to the grader."""
    return [i for i, unit in enumerate(answer_units) if injection_reason(unit)]


def dedupe_units(answer_units: list[str]) -> tuple[list[str], int]:
    """Drop repeated units (case/space-insensitive); returns the kept units and how many were dropped."""
    seen: set[str] = set()
    kept: list[str] = []
    for unit in answer_units:
        key = " ".join(words(unit))
        if key in seen:
            continue
        seen.add(key)
        kept.append(unit)
    return kept, len(answer_units) - len(kept)


_NEGATION = re.compile(
    r"\b(not|no|never|n't|without|isn't|aren't|doesn't|don't|cannot|neither|nor|false|wrong)\b"
)


def is_negated(text: str) -> bool:
    """Whether a sentence carries a negation ("Dropout is NOT used at inference")."""
    return bool(_NEGATION.search(text.lower()))


def stems(text: str) -> set[str]:
    """Crude stems (5-letter prefixes of content words): "normalizes"/"normalization" meet."""
    return {w[:5] for w in content_words(text)}


# Words that frame an answer rather than carry it ("I would choose ReLU": the choice is "ReLU").
_FRAME_WORDS = META_WORDS | {
    *("choose", "chooses", "choosing", "chose", "chosen", "prefer", "prefers", "preferred", "pick", "picked"),
    *("select", "selected", "selecting", "opt", "opted", "would", "think", "thinking"),
}


def answer_share(unit: str, question: str, point: str) -> float:
    """Share of what a key point adds to its question (its content stems the question lacks) that the
    unit says: "terminal 5 is connected to the positive terminal" adds "connected", all that the point
    "Terminal 5 and the positive terminal are connected" adds to "why 0 V between terminal 5 and the
    positive terminal?", so it answers the question however many of the question's words it reuses."""
    added = {w[:5] for w in content_words(point) if w not in _FRAME_WORDS} - stems(question)
    return len(added & stems(unit)) / len(added) if added else 0.0


# "Is it better to use a connection-oriented or a connectionless service?": the words either side of
# an "or" are the alternatives a question offers (hyphenated terms whole), when the question asks for
# a choice ("What does a hash table or dictionary do …?" offers none).
_ALTERNATIVES = re.compile(r"([^\W\d_][\w-]*)\s+or\s+(?:(?:a|an|the)\s+)?([^\W\d_][\w-]*)")
_CHOICE_CUE = re.compile(
    r"\b(better|best|prefer\w*|should|which|choose|choice|rather|whether|recommend\w*)\b", re.I
)
_NOT_ALTERNATIVES = frozenset({"too", "more", "less", "not", "so", "either", "neither", "both"})


# A named alternative the sentence denies takes no side: "would not use a connectionless one",
# "connectionless is not better", "a connectionless service wouldn't suit". Only "not"/"never" before
# it (with words that choose between them), or a negated "is"/"would"… after it: "connectionless
# doesn't need a handshake" describes the choice, and "no connection is set up" is the reason's.
_DENIED_BEFORE = (
    r"\b(?:not|never)\s+(?:(?:use|using|choose|choosing|pick|prefer|recommend|go|with|for|take|want|need|be|"
    r"a|an|the|really|necessarily|definitely)\s+){{0,3}}{option}\b"
)
_DENIED_AFTER = (
    r"\b{option}\b(?:[\s-][a-z]+)?\s+(?:(?:is|are|was|were|would|will|should|can|could|might|may)"
    r"(?:\s+[a-z]+ly)?(?:\s+be)?\s+(?:not|never)|(?:isn't|aren't|wasn't|weren't|wouldn't|won't|shouldn't|"
    r"can't|couldn't))\b"
)


def _denied(option: list[str], unit: str) -> bool:
    """Whether the unit denies the alternative `option` (its words in order: "connection-oriented"
    is ["connection", "oriented"], matched as one phrase)."""
    text = unit.lower().replace("\u2019", "'")
    phrase = r"[\s-]+".join(re.escape(w) for w in option)
    before, after = _DENIED_BEFORE.format(option=phrase), _DENIED_AFTER.format(option=phrase)
    return bool(re.search(before, text) or re.search(after, text))


def side_taken(unit: str, question: str, point: str) -> bool:
    """Whether the unit takes the side of an "A or B" in the question that the key point takes: it names
    the point's alternative and not the other. "A connectionless service is a better fit, because …"
    answers "connection-oriented or connectionless?" though every other word it uses is the
    question's. Whole words, not stems: "connectionless" and "connection" share their first five."""
    unit_words, point_words = set(words(unit)), set(words(point))
    for asked in sentences(question):
        if not _CHOICE_CUE.search(asked):
            continue
        for first, second in _ALTERNATIVES.findall(asked):
            if _takes(words(first), words(second), unit_words, point_words, unit):
                return True
    return False


def _takes(
    first: list[str], second: list[str], unit_words: set[str], point_words: set[str], unit: str
) -> bool:
    """Whether the unit names the option the point names, without denying it, and neither names the
    other. An option is named by all its words: "no connection is set up" does not name
    "connection-oriented"."""
    a, b = set(first), set(second)
    a, b = a - b - STOPWORDS - _NOT_ALTERNATIVES, b - a - STOPWORDS - _NOT_ALTERNATIVES
    if not a or not b:  # "more or less", "whether or not": no alternatives
        return False
    for mine, other, option in ((a, b, first), (b, a, second)):
        in_point = mine <= point_words and not other <= point_words
        named = mine <= unit_words and not other <= unit_words
        if in_point and named and not _denied(option, unit):
            return True
    return False


def lexical_recall(point: str, answer_stems: set[str]) -> float:
    """Share of a key point's content stems that the answer uses."""
    wanted = stems(point)
    return len(wanted & answer_stems) / len(wanted) if wanted else 0.0


def novelty(answer: str, question: str) -> float:
    """Share of the answer's content words that the question does not already contain."""
    answer_words = content_words(answer)
    if not answer_words:
        return 0.0
    answer_words = [w for w in answer_words if w not in META_WORDS]
    if not answer_words:
        return 0.0
    question_words = set(content_words(question))
    stems = {w[:5] for w in question_words}
    new = [w for w in answer_words if w not in question_words and w[:5] not in stems]
    return len(new) / len(answer_words)


def is_meta(unit: str) -> bool:
    """A sentence that talks about the question itself."""
    return bool(_META.search(unit))


def function_word_ratio(text: str) -> float:
    tokens = words(text)
    if not tokens:
        return 0.0
    return sum(t in FUNCTION_WORDS for t in tokens) / len(tokens)


# A question that asks for items only ("Write-down all reserved addresses", "Name the two modes", "What
# are its objectives? State at least 4."): the verb as a command (where a sentence or clause starts, or
# after "and" / "please") before what it asks for, so "What is a linked list?" does not ask for one
# ("state", "give" and "mention" only before a count: "Give the intuition" asks to explain); and one
# that also asks what the items mean, do or why (where a bare list explains nothing; "What are the
# objectives of …" asks for them, "What are they for?" does not).
_COUNTED = r"(?:at\s+least\s+)?(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten)\b"
# … but not a length ("Give one sentence on ReLU", "Give 2-3 sentences", "one or two lines").
_NOT_A_LENGTH = (
    r"(?!(?:\s*[-–]\s*\w+|\s+(?:or|to)\s+\w+)?\s+(?:sentences?|words?|lines?|paragraphs?|minutes?)\b)"
)
_ASKS_TO_LIST = re.compile(
    r"(?:^|[.?!;:,]\s*|\b(?:and|please)\s+)(?:(?:list|name|enumerate|write[- ]?down)\s+(?:(?:all|the|every|"
    rf"each|any|some|several)\b|at\s+least\b|{_COUNTED})|(?:state|give|mention)\s+{_COUNTED}{_NOT_A_LENGTH})",
    re.I,
)
_ASKS_TO_EXPLAIN = re.compile(
    r"\b(explain|describe|discuss|justify|compare|define|derive|illustrate|outline|elaborate|show|why|how|"
    r"what(?!\s+(?:are|were)\s+(?!(?:they|these|those|them)\b))|reasons?|differences?|"
    r"function|purpose|role|means?|meaning|examples?)\b",
    re.I,
)


def asks_for_a_list(question: str | None) -> bool:
    """Whether the question asks only for a list of items, so an answer that is one is no keyword list:
    "Write-down all addresses in Class A networks that are reserved." but not "Name the 2 phases and
    explain how the window grows"."""
    return bool(question and _ASKS_TO_LIST.search(question) and not _ASKS_TO_EXPLAIN.search(question))


def is_keyword_list(answer: str) -> bool:
    """Terms with no explanation: short comma/line-separated fragments with almost no function words."""
    segments = [s for s in re.split(r"[,;\n/|]+|\s+-\s+|\band\b", answer) if words(s)]
    if len(segments) < 3:
        return False
    mean_len = sum(len(words(s)) for s in segments) / len(segments)
    longest = max(len(words(s)) for s in segments)
    return mean_len <= 3.2 and longest <= 6 and function_word_ratio(answer) < 0.12
