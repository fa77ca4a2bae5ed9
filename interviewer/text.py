"""Plain-text analysis of candidate answers: units, tokens, and the guards' detectors.

Everything here is pure and cheap; the grader combines it with embedding similarities.
"""

from __future__ import annotations

import re

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?;])\s+|\n+")
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

# Text aimed at the grader rather than the interviewer's question. Sentences that match are removed
# before grading, so an instruction can never add to a score; the Grade is flagged.
_INJECTION = re.compile(
    r"(ignore\s+(?:all\s+|any\s+|the\s+)?(?:previous|prior|above|earlier|preceding|your|all)\b"
    r"|disregard\s+(?:all\s+|any\s+|the\s+)?(?:previous|prior|above|earlier|instructions|rubric|rules)"
    r"|\b(?:system|assistant|developer)\s*(?:prompt|message|override|note)?\s*[:>]"
    r"|\bnew\s+instructions?\b|\binstructions?\s+(?:to|for)\s+the\s+(?:grader|model|ai|evaluator|judge)"
    r"|\b(?:grader|evaluator|examiner|judge|scorer|grading\s+(?:model|system|ai)|language\s+model|llm)\b"
    r"|\b(?:give|award|assign|grant|rate|score|mark)\s+(?:this|me|it|my\s+answer|the\s+answer|this\s+answer|the\s+candidate)"
    r"\s+(?:a\s+|an\s+|as\s+)?(?:full\s+marks|perfect|maximum|max|top|5|five|10|100)"
    r"|\b(?:give|award|assign|grant)\s+(?:a\s+|an\s+)?(?:full\s+marks|perfect\s+score|maximum\s+score|top\s+score"
    r"|5\s*/\s*5|5\s+out\s+of\s+5|five\s+out\s+of\s+five)"
    r"|\b(?:score|grade|rating|mark)\s*(?:[:=]|of|is|should\s+be|must\s+be)\s*[\"']?\s*(?:5|five|10|100|perfect|max)"
    r"|\"(?:score|grade|verdict|band)\"\s*:"
    r"|</?\s*(?:answer|system|instructions?|candidate|user|assistant|untrusted)[^>]*>"
    r"|\bend\s+of\s+(?:the\s+)?(?:answer|candidate|input)\b"
    r"|\bas\s+an\s+ai\b|\byou\s+are\s+now\b|\bpretend\s+(?:you|to)\b|\bjailbreak\b"
    r"|\[/?inst\]|<\|im_(?:start|end)\|>|<!--|\b(?:admin|developer|god)\s+mode\b|\bnew\s+task\b"
    r"|\bsystem\s+(?:notice|override|update)\b|\boverride\b.{0,40}\b(?:score|grade)"
    r"|^\W*(?:feedback|justification|verdict|rationale|evaluation|grading\s+note)\s*:"
    r"|\b(?:record|log|assign|award)\s+(?:a\s+|the\s+|it\s+)?(?:5|five|full|perfect|maximum)\b"
    r"|\breceives?\s+(?:a\s+)?(?:5|five|full\s+marks|the\s+maximum)\s*(?:[.!]|$|/|out\s+of|points|marks)"
    r"|\b(?:final|corrected|correct|new|maximum)\s+(?:grade|score)\s*(?:[:=]|is|of)\s*[\"']?\s*(?:5|five|10|100)\b)",
    re.I,
)


def units(answer: str) -> list[str]:
    """Sentence-like units of an answer: lines first (bullets and numbers stripped), then sentences."""
    out: list[str] = []
    for line in answer.splitlines():
        line = _BULLET.sub("", line)
        for piece in _SENTENCE_SPLIT.split(line):
            piece = piece.strip().strip("`").strip()
            if len(_WORD.findall(piece.lower())) >= 1:
                out.append(piece)
    return out


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


def is_blank(answer: str) -> bool:
    return not words(answer)


def is_dont_know(answer: str) -> bool:
    """A short answer that says the candidate doesn't know (a long one may say it and then answer)."""
    tokens = words(answer)
    if not tokens:
        return False
    return len(tokens) <= 14 and bool(_DONT_KNOW.search(answer)) and len(content_words(answer)) <= 4


def injection_units(answer_units: list[str]) -> list[int]:
    """Indices of units addressed to the grader."""
    return [i for i, unit in enumerate(answer_units) if _INJECTION.search(unit)]


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


def stems(text: str) -> set[str]:
    """Crude stems (5-letter prefixes of content words): "normalizes"/"normalization" meet."""
    return {w[:5] for w in content_words(text)}


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


def is_keyword_list(answer: str) -> bool:
    """Terms with no explanation: short comma/line-separated fragments with almost no function words."""
    segments = [s for s in re.split(r"[,;\n/|]+|\s+-\s+|\band\b", answer) if words(s)]
    if len(segments) < 3:
        return False
    mean_len = sum(len(words(s)) for s in segments) / len(segments)
    longest = max(len(words(s)) for s in segments)
    return mean_len <= 3.2 and longest <= 6 and function_word_ratio(answer) < 0.12
