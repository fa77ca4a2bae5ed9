"""The judge's training data: our authored key-point pairs (`judge/pairs/*.yaml`) and public sets.

Authored pairs are reviewable YAML, one entry per rubric question: for every key point, statements
that affirm it in other words, statements that contradict it in its own words, and statements that
are related but neither; for every misconception, statements asserting and denying it. They are
checked against the rubrics (`rubrics check`) so that a reworded key point cannot silently orphan
its pairs. Public sets are read from `../shared/benchmarks` when present; only sets whose licence
allows it feed training (SICK and ANLI are non-commercial: evaluation only).

Every example is (premise, hypothesis, label): the premise is what a candidate said, the hypothesis
the claim it is tested against, as in NLI. No I/O beyond reading the files named.
"""

from __future__ import annotations

import csv
import hashlib
import random
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import yaml
from pydantic import BaseModel, Field, ValidationError

from interviewer.grading.judge import CONTRADICT, ENTAIL, NEUTRAL
from interviewer.sources.files import read_text
from interviewer.sources.labelled import SAF_FILE, SEMEVAL_FILE, SNLI_FILE
from interviewer.sources.rubric import Rubric

PAIRS_DIR = "judge/pairs"
# A training-only label: "entailment or neutral, not contradiction" (its loss is -log(P(E) + P(N))),
# for pairs we know are not contradictions without knowing which of the other two they are.
NOT_CONTRADICT = 3
MODEL_ANSWER_WORDS = 120
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Entry = TypeVar("_Entry", bound=BaseModel)


class _Question(Protocol):
    @property
    def question_id(self) -> str: ...


_Keyed = TypeVar("_Keyed", bound=_Question)


class PairsError(ValueError):
    """A pairs file that cannot be read or does not match its rubrics; the message says where."""


class PointPairs(BaseModel):
    key_point: str
    entails: list[str] = Field(min_length=2)
    contradicts: list[str] = Field(min_length=2)
    neutral: list[str] = Field(min_length=1)
    # The point restated in its own words (a candidate repeating it, as a spoken answer would): entails it.
    restates: list[str] = Field(default_factory=list)


class MisconceptionPairs(BaseModel):
    claim: str
    asserts: list[str] = Field(min_length=1)
    denies: list[str] = Field(min_length=1)


class QuestionPairs(BaseModel):
    question_id: str
    key_points: list[PointPairs]
    misconceptions: list[MisconceptionPairs] = Field(default_factory=list)


@dataclass(frozen=True)
class Example:
    premise: str
    hypothesis: str
    label: int
    source: str
    group: str = ""


def pair_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.yaml"))


def _question_entries(path: Path, kind: str, model: type[_Entry]) -> list[_Entry]:
    """A YAML file's list of question entries, each read as `model`; a bad file or entry is one line
    naming the file and the entry. An empty file is an empty list."""
    text = read_text(path, PairsError, kind)
    try:
        data = yaml.load(text, Loader=_YAML_LOADER) or []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PairsError(f"{kind} file {path} line {mark.line + 1 if mark else 1}: not valid YAML") from None
    if not isinstance(data, list):
        raise PairsError(f"{kind} file {path} line 1: expected a list of questions")
    entries = []
    for n, item in enumerate(data):
        try:
            entries.append(model.model_validate(item))
        except ValidationError as exc:
            error = exc.errors()[0]
            required = " and ".join(k for k, f in model.model_fields.items() if f.is_required())
            where = ".".join(str(p) for p in error["loc"]) or f"expected {required}"
            qid = (item.get("question_id") if isinstance(item, dict) else None) or f"entry {n + 1}"
            raise PairsError(f"{kind} file {path}: {qid}: {where}: {error['msg']}") from None
    return entries


def _by_question_id(
    entries: Iterable[_Keyed], kind: str, path: Path, into: dict[str, _Keyed] | None = None
) -> dict[str, _Keyed]:
    """The entries by question id (added to `into`, when given, to check across files); a question
    that appears twice is one line naming the file."""
    out: dict[str, _Keyed] = {} if into is None else into
    for entry in entries:
        if entry.question_id in out:
            raise PairsError(f"{kind} file {path}: {entry.question_id} appears twice")
        out[entry.question_id] = entry
    return out


def load_pairs(folder: Path) -> dict[str, QuestionPairs]:
    """Every question's pairs, by question id; a bad file or entry is one line naming file and entry."""
    out: dict[str, QuestionPairs] = {}
    for path in pair_files(folder):
        _by_question_id(_question_entries(path, "pairs", QuestionPairs), "pairs", path, out)
    return out


def check_pairs(rubrics: list[Rubric], pairs: dict[str, QuestionPairs]) -> list[str]:
    """Problems a reviewer must fix: rubric points without pairs, and pairs whose point is gone."""
    problems: list[str] = []
    by_id = {r.question_id: r for r in rubrics}
    for qid in pairs:
        if qid not in by_id:
            problems.append(f"judge pairs for {qid}: no such rubric")
    for rubric in rubrics:
        entry = pairs.get(rubric.question_id)
        if entry is None:
            problems.append(f"{rubric.question_id}: no judge pairs (add them under {PAIRS_DIR}/)")
            continue
        have = {p.key_point for p in entry.key_points}
        want = {k.text for k in rubric.key_points}
        for text in sorted(want - have):
            problems.append(f"{rubric.question_id}: key point without judge pairs: {text[:70]!r}")
        for text in sorted(have - want):
            problems.append(
                f"{rubric.question_id}: judge pairs for a key point not in the rubric: {text[:70]!r}"
            )
        claims = {m.claim for m in rubric.misconceptions}
        for text in sorted({m.claim for m in entry.misconceptions} - claims):
            problems.append(
                f"{rubric.question_id}: judge pairs for a misconception not in the rubric: {text[:70]!r}"
            )
    return problems


def group_key(rubric: Rubric) -> str:
    """Duplicates of one concept share a group: they are held out (or not) together."""
    return rubric.group or rubric.question_id


def is_held_out(group: str, every: int) -> bool:
    """A fixed, content-independent split: a group is held out when its hash falls in 1/every."""
    return every > 0 and int(hashlib.sha256(group.encode()).hexdigest(), 16) % every == 0


# Openers a candidate puts before a point; the point restated after one still entails itself.
_OPENERS = ("So, ", "I think ", "Basically, ", "Well, ", "In short, ", "As far as I know, ", "Right, so ")


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def _restated(text: str, rng: random.Random) -> str:
    return rng.choice(_OPENERS) + text[0].lower() + text[1:]


def _paired_points(
    rubrics: list[Rubric], pairs: dict[str, QuestionPairs]
) -> Iterator[tuple[Rubric, QuestionPairs, str, list[PointPairs]]]:
    """Each rubric with pairs: its entry, its concept group, and its key points' pairs in rubric order."""
    for rubric in rubrics:
        entry = pairs.get(rubric.question_id)
        if entry is None:
            continue
        by_point = {p.key_point: p for p in entry.key_points}
        yield (
            rubric,
            entry,
            group_key(rubric),
            [by_point[k.text] for k in rubric.key_points if k.text in by_point],
        )


def authored_examples(
    rubrics: list[Rubric], pairs: dict[str, QuestionPairs], seed: int, across: bool = False
) -> list[Example]:
    """Key-point pairs, plus what they imply: multi-sentence premises (the statement among others
    on the same question keeps its label), the model answer entailing each of its points, other
    points' affirmations as same-topic neutrals, and misconception claims against their corrections.

    Affirmations are written in other words and contradictions in the point's own words, so a model
    could learn "shared words mean contradiction"; the point restated in its own words (alone and
    among other sentences, after an opener, verbatim, and in the authored `restates`) entails itself,
    which removes that shortcut. Without the verbatim pairs a judge read a misconception claim, word
    for word, as contradicting itself (P(contradiction) 0.87): "an opener means entailment". Another
    question's affirmations are neutral to a point, so a topic alone is never entailment.

    With `across`, also a denial of each point against an affirmation of it, either way round."""
    rng = random.Random(seed)
    out: list[Example] = []
    foreign = [
        (rubric.question_id, s)
        for rubric in rubrics
        for p in (pairs[rubric.question_id].key_points if rubric.question_id in pairs else [])
        for s in p.entails
    ]
    for rubric, entry, group, points in _paired_points(rubrics, pairs):
        model_answer = rubric.model_answer
        for p in points:
            others = [s for o in points if o is not p for s in o.entails]
            for label, statements in ((ENTAIL, p.entails), (CONTRADICT, p.contradicts), (NEUTRAL, p.neutral)):
                for s in statements:
                    out.append(Example(s, p.key_point, label, "authored", group))
            out.append(Example(_restated(p.key_point, rng), p.key_point, ENTAIL, "restated", group))
            out.append(Example(_sentence(p.key_point), p.key_point, ENTAIL, "identity", group))
            for s in p.restates:
                out.append(Example(s, p.key_point, ENTAIL, "restated-own-words", group))
            out.append(
                Example(p.key_point, rng.choice(p.contradicts), CONTRADICT, "authored-reversed", group)
            )
            # A statement denying the point contradicts one affirming it in other words (A entails P,
            # B entails not-P), each way: contradictions whose words differ, so shared words are no
            # cue for a contradiction (authored ones share 0.61 of the point's words, affirmations 0.31).
            if across and p.entails and p.contradicts:
                for premises, hypotheses in ((p.contradicts, p.entails), (p.entails, p.contradicts)):
                    premise, hypothesis = rng.choice(premises), rng.choice(hypotheses)
                    out.append(Example(premise, hypothesis, CONTRADICT, "authored-across", group))
            qid, stranger = rng.choice(foreign)
            if qid != rubric.question_id:
                out.append(Example(stranger, p.key_point, NEUTRAL, "other-question", group))
            if others:
                out.append(Example(rng.choice(others), p.key_point, NEUTRAL, "authored-other-point", group))
                for label, statements in (
                    (ENTAIL, p.entails),
                    (CONTRADICT, p.contradicts),
                    (ENTAIL, [p.key_point]),
                ):
                    context = rng.sample(others, min(len(others), rng.randint(1, 3)))
                    sentences = [rng.choice(statements), *context]
                    rng.shuffle(sentences)
                    out.append(Example(" ".join(sentences), p.key_point, label, "authored-in-context", group))
            # Longer model answers would be cut at the length limit, maybe before the point is made.
            if model_answer and len(model_answer.split()) <= MODEL_ANSWER_WORDS:
                out.append(Example(model_answer, p.key_point, ENTAIL, "model-answer", group))
        claims = {m.claim: m for m in rubric.misconceptions}
        related = [s for p in points for s in p.neutral]
        for m in entry.misconceptions:
            if m.claim not in claims:
                continue
            out.append(Example(_restated(m.claim, rng), m.claim, ENTAIL, "misconception", group))
            out.append(Example(_sentence(m.claim), m.claim, ENTAIL, "identity", group))
            for s in rng.sample(related, min(2, len(related))):
                out.append(Example(s, m.claim, NEUTRAL, "misconception", group))
            for s in m.asserts:
                out.append(Example(s, m.claim, ENTAIL, "misconception", group))
            for s in m.denies:
                out.append(Example(s, m.claim, CONTRADICT, "misconception", group))
            out.append(Example(claims[m.claim].correction, m.claim, CONTRADICT, "misconception", group))
    return out


# Negation by rule: "not" after the first copula or modal of a statement's main clause. Only these
# verbs: "may not" and "might not" do not deny "may", and "does"/"has" are often main verbs.
_NEGATABLE = re.compile(
    r"\b(is|are|was|were|can|will|must|should|would)\b(?! (?:only|just|also|merely|simply|even)\b)"
)
# A statement that already denies something, or whose first verb may sit in a subordinate clause
# ("how far the predictions are from the targets"), is left alone: its negation is not its denial.
_HAS_NEGATION = re.compile(r"\b(?:not|no|never|cannot|without|nothing|none|neither|nor)\b|n't", re.I)
_SUBORDINATE = re.compile(
    r"\b(?:that|which|who|whom|whose|how|what|where|when|whether|if|because|so|than|as|while|unless|"
    r"since|although|once|before|after|until)\b|[,;:(]",
    re.I,
)


def negated(statement: str) -> str | None:
    """The statement denied by "not" after the first copula or modal of its main clause ("X is Y" ->
    "X is not Y", "can" -> "cannot"), or None where no such verb opens it plainly."""
    match = _NEGATABLE.search(statement)
    if match is None or _HAS_NEGATION.search(statement) or _SUBORDINATE.search(statement[: match.start()]):
        return None
    verb = match.group(1)
    denial = "cannot" if verb == "can" else f"{verb} not"
    return statement[: match.start()] + denial + statement[match.end() :]


def negation_examples(rubrics: list[Rubric], pairs: dict[str, QuestionPairs], seed: int) -> list[Example]:
    """Explicit denials: each key point with "not" put into its main clause contradicts the point,
    alone and among other sentences. Our authored denials swap directions and mechanisms but seldom
    say "not", and a judge trained on them read "The weights are not learned by optimization" as
    neutral to "The weights are learned by minimizing a loss" (contradiction 0.02). The denial read
    against itself, and after an opener, entails itself, and the authored affirmations that say "not"
    in other words entail their point among other sentences too: a mismatch in "not" is the cue,
    never "not" alone. Restatements are not denied: that doubled the denials by rule and cost
    paraphrases (measured in judge/EXPERIMENTS.md)."""
    rng = random.Random(seed + 1)
    out: list[Example] = []
    for _, _, group, points in _paired_points(rubrics, pairs):
        for p in points:
            others = [s for o in points if o is not p for s in o.entails]
            denial = negated(p.key_point)
            if denial is not None:
                out.append(Example(_sentence(denial), p.key_point, CONTRADICT, "negated", group))
                out.append(Example(_sentence(denial), denial, ENTAIL, "negated-identity", group))
                out.append(Example(_restated(denial, rng), denial, ENTAIL, "negated-identity", group))
                if others:
                    context = _among(_sentence(denial), others, rng)
                    out.append(Example(context, p.key_point, CONTRADICT, "negated-in-context", group))
            # A true statement that says "not" in other words ("the transform must not alter the label")
            # still entails its point among other sentences too (alone it is an authored pair): without
            # these, denials by rule taught "not means contradiction" (a judge read that statement as
            # contradicting "transformations must preserve the label").
            for s in p.entails:
                if _HAS_NEGATION.search(s) and others:
                    out.append(
                        Example(_among(s, others, rng), p.key_point, ENTAIL, "negation-affirmed", group)
                    )
    return out


# Opposites by rule: one word of a statement turned into its opposite ("the pitch will be higher" ->
# "lower") denies it in its own words. The judge read "The pitch will be lower." as entailing "When the
# string is tighter, the pitch will be higher" (0.70), and "flows slow during a flood" as entailing "flows
# faster" (0.54): shared words outweighed the one that carries the meaning. Only words whose opposite
# is one word in nearly every use: "light" (a light bulb), "short" (a short circuit), "close" (close
# the switch), "add", "drop" and "little" are left out.
# fmt: off
_OPPOSITE_PAIRS = (
    ("higher", "lower"), ("highest", "lowest"), ("faster", "slower"), ("fastest", "slowest"),
    ("fast", "slow"), ("quickly", "slowly"), ("increase", "decrease"), ("increases", "decreases"),
    ("increased", "decreased"), ("increasing", "decreasing"), ("more", "less"), ("larger", "smaller"),
    ("largest", "smallest"), ("bigger", "smaller"), ("longer", "shorter"), ("closer", "farther"),
    ("easier", "harder"), ("stronger", "weaker"), ("heavier", "lighter"), ("hotter", "colder"),
    ("warmer", "cooler"), ("above", "below"), ("before", "after"), ("positive", "negative"),
    ("maximize", "minimize"), ("maximum", "minimum"), ("open", "closed"), ("series", "parallel"),
    ("same", "different"), ("attract", "repel"), ("attracts", "repels"), ("conductor", "insulator"),
    ("conductors", "insulators"), ("supervised", "unsupervised"), ("linear", "nonlinear"),
    ("earlier", "later"), ("tighter", "looser"), ("thicker", "thinner"), ("wider", "narrower"),
    ("deeper", "shallower"), ("always", "never"), ("inside", "outside"), ("overfitting", "underfitting"),
)
# fmt: on
OPPOSITES = {**dict(_OPPOSITE_PAIRS), **{b: a for a, b in _OPPOSITE_PAIRS}, "fewer": "more"}
_WORD = re.compile(r"[A-Za-z]+")
# "no longer", "any more", "non-linear" (and "linear-time" after it): no comparison to turn there.
_IDIOM_BEFORE = re.compile(r"(?:\b(?:no|any)\s+|-)$", re.I)


def _swapped(
    statement: str,
    rng: random.Random,
    table: dict[str, str],
    about: str | None,
    keep: Callable[[str, re.Match[str]], bool] = lambda statement, match: True,
) -> str | None:
    """The statement with one of its words in `table` (chosen at random among those `keep` allows)
    replaced by the word the table gives, the case and an "a"/"an" before it kept right; None where no
    word is in it. With `about`, only a word that `about` uses too, or its replacement."""
    found = [
        m
        for m in _WORD.finditer(statement)
        if m.group().lower() in table
        and not _IDIOM_BEFORE.search(statement[: m.start()])
        and statement[m.end() : m.end() + 1] != "-"
        and keep(statement, m)
    ]
    if about is not None:
        used = {w.lower() for w in _WORD.findall(about)}
        found = [m for m in found if m.group().lower() in used or table[m.group().lower()] in used]
    if not found:
        return None
    m = rng.choice(found)
    word = table[m.group().lower()]
    if m.group()[0].isupper():
        word = word[0].upper() + word[1:]
    before = statement[: m.start()]
    article = re.search(r"\b(an?|An?) $", before)
    if article:
        fitting = "an" if word[0].lower() in "aeiou" else "a"
        fitting = fitting.capitalize() if article.group(1)[0].isupper() else fitting
        before = before[: article.start(1)] + fitting + " "
    return before + word + statement[m.end() :]


def opposed(statement: str, rng: random.Random, about: str | None = None) -> str | None:
    """The statement with one of its words (chosen at random among those that have one) turned into its
    opposite, the case and an "a"/"an" before it kept right; None where no word has one. With `about`,
    only a word that `about` uses too, or its opposite: "dividing the logits before the softmax"
    turned "after" no longer says what "calibration such as temperature scaling" is about."""
    return _swapped(statement, rng, OPPOSITES, about)


# Rewordings by rule: one word turned into another that says the same ("larger" -> "bigger") still
# affirms the statement. Beside the opposites they keep a changed word from being the cue by itself:
# trained on the opposites alone, a judge read "smaller" against "lower" as a denial, and SAF's unseen
# questions fell (Pearson 0.676 -> 0.628). One way only where the reverse is not always the same
# ("greater" is not "higher" in "greater detail"), and never before a word the pair does not fit
# ("higher layers", "lower bound", "lower half", "higher order").
# fmt: off
_SAME_PAIRS = (
    ("larger", "bigger"), ("largest", "biggest"), ("faster", "quicker"), ("quickly", "rapidly"),
    ("decreases", "reduces"), ("decreased", "reduced"), ("decreasing", "reducing"), ("easier", "simpler"),
    ("different", "distinct"), ("maximize", "maximise"), ("minimize", "minimise"),
)
_SAME_ONE_WAY = {"higher": "greater", "lower": "smaller", "highest": "greatest", "lowest": "smallest"}
# fmt: on
SAME_MEANING = {**dict(_SAME_PAIRS), **{b: a for a, b in _SAME_PAIRS}, **_SAME_ONE_WAY}
_NOT_REWORDED_BEFORE = frozenset({"layers", "levels", "cases", "bounds", "bound", "half", "order"})
# "lower the learning rate" is a verb, not a comparison. ("before" -> "prior to" was left out: "stop
# before the validation loss starts rising" is a clause.)
_VERB_AFTER_LOWER = frozenset({"the", "a", "an", "it", "its", "their", "your", "them", "this", "that"})


def _rewordable(statement: str, match: re.Match[str]) -> bool:
    following = statement[match.end() :]
    after = _WORD.match(following.lstrip())
    after_word = after.group().lower() if after and following[:1].isspace() else None
    if after_word in _NOT_REWORDED_BEFORE:
        return False
    return not (match.group().lower() == "lower" and after_word in _VERB_AFTER_LOWER)


def reworded(statement: str, rng: random.Random, about: str | None = None) -> str | None:
    """The statement with one of its words (chosen at random among those that have one) turned into
    another that says the same (SAME_MEANING), as `opposed` turns one into its opposite; None where
    none has one. With `about`, only a word that `about` uses too, or its rewording."""
    return _swapped(statement, rng, SAME_MEANING, about, keep=_rewordable)


def _one_word_turned(
    rubrics: list[Rubric],
    pairs: dict[str, QuestionPairs],
    rng: random.Random,
    turn: Callable[[str, random.Random, str], str | None],
    label: int,
    source: str,
) -> list[Example]:
    """Each key point, and each of its affirmations, with one word turned by `turn` (which reads the
    point as `about`), labelled `label` against the point: alone and among other sentences."""
    out: list[Example] = []
    for _, _, group, points in _paired_points(rubrics, pairs):
        for p in points:
            others = [s for o in points if o is not p for s in o.entails]
            for statement in (p.key_point, *p.entails):
                turned = turn(statement, rng, p.key_point)
                if turned is None:
                    continue
                out.append(Example(_sentence(turned), p.key_point, label, source, group))
                if others:
                    context = _among(_sentence(turned), others, rng)
                    out.append(Example(context, p.key_point, label, f"{source}-in-context", group))
    return out


def opposite_examples(rubrics: list[Rubric], pairs: dict[str, QuestionPairs], seed: int) -> list[Example]:
    """Denials by opposites: each key point, and each of its affirmations, with one of the point's words
    (or its opposite) turned into its opposite contradicts the point, alone and among other sentences
    (its own words, one word apart: the case the judge misread). The affirmations themselves entail
    it among the same kind of others (`authored_examples`), so the other sentences are no cue."""
    return _one_word_turned(rubrics, pairs, random.Random(seed + 2), opposed, CONTRADICT, "opposite")


def reworded_examples(rubrics: list[Rubric], pairs: dict[str, QuestionPairs], seed: int) -> list[Example]:
    """Affirmations by rewording: each key point, and each of its affirmations, with one of the point's
    words (or its rewording) turned into another that says the same entails the point, alone and among
    other sentences, as the opposites (`opposite_examples`) contradict it: one changed word is then no
    cue either way."""
    return _one_word_turned(rubrics, pairs, random.Random(seed + 3), reworded, ENTAIL, "reworded")


SWAPS_FILE = "judge/swaps.yaml"
# Acronyms read with a vowel sound first ("an LSTM", "an RNN", "an F1 score").
_VOWEL_SOUND_LETTERS = frozenset("AEFHILMNORSX")
_DENIED = re.compile(
    r"\b(?:not|no|never|neither|cannot|without|rather\s+than|instead\s+of)\b|n['\u2019]t\b", re.I
)


class QuestionSwaps(BaseModel):
    question_id: str
    swaps: list[tuple[str, str]] = Field(min_length=1)


def load_swaps(path: Path) -> dict[str, list[tuple[str, str]]]:
    """The terms each question contrasts (judge/swaps.yaml), by question id; a bad file or entry is
    one line naming the file and the entry."""
    entries = _by_question_id(_question_entries(path, "swaps", QuestionSwaps), "swaps", path)
    if not entries:
        raise PairsError(f"swaps file {path}: no questions (list each as question_id and its swaps)")
    out: dict[str, list[tuple[str, str]]] = {}
    for qid, entry in entries.items():
        terms = [(a.strip(), b.strip()) for a, b in entry.swaps]
        for k, (a, b) in enumerate(terms):
            where = f"swaps file {path}: {qid}: swaps.{k}"
            if not a or not b:
                raise PairsError(f"{where}: a term is empty")
            if a.lower() == b.lower():
                raise PairsError(f"{where}: '{a}' would be swapped with itself")
        out[qid] = terms
    return out


def _term(term: str) -> str:
    """A term as a pattern: its words apart by spaces or a hyphen ("max-pooling")."""
    return r"[\s-]+".join(re.escape(w) for w in term.split())


def _initials(term: str) -> str | None:
    """A term of several words by its initials ("machine learning" -> "ML"), else None."""
    words = term.split()
    return "".join(w[0] for w in words).upper() if len(words) > 1 else None


def _plural(term: str) -> str:
    return term + ("es" if re.search(r"(?:s|x|z|ch|sh)$", term, re.I) else "s")


# The two terms side by side, joined ("precision and recall", "an LSTM or a GRU", "L1/L2"): traded,
# they say the same. Up to two words may come between the joiner and the second term.
_SIDE_BY_SIDE = r"\s*(?:,|/|&|\band\b|\bor\b|\bnor\b|\bvs\.?|\bversus\b|\bas\s+well\s+as\b)\s*"
# Words before a term that make it part of a name ("Leaky ReLU", "hard sigmoid").
_NAMED_BY = r"(?<!leaky )(?<!dying )(?<!dead )(?<!hard )"


def swapped(statement: str, first: str, second: str) -> str | None:
    """The statement with every mention of `first` and `second` traded ("L1 drives weights to zero"
    -> "L2 drives weights to zero"), plurals, capitals and "a"/"an" kept right. None where it names
    neither, names them side by side ("precision and recall", "L1 or L2", "between X and Y": the same
    swapped), names one inside code or a name ("Leaky ReLU") or by its initials ("ML"), or denies
    something (what one is not, the other often is not either)."""
    if _DENIED.search(statement):
        return None  # "X is not equivalent to an L2 penalty" is as true of L1
    if any(i and re.search(rf"\b{i}s?\b", statement) for i in (_initials(first), _initials(second))):
        return None  # "deep learning sits inside ML" would keep the ML it trades from
    one, two = _term(first), _term(second)
    either = rf"(?:{one}|{two})(?:e?s)?"
    if re.search(rf"\b{either}{_SIDE_BY_SIDE}(?:\w+\s+){{0,2}}{either}\b", statement, re.I):
        return None
    # Longer term first, so "false positive rate" is not read as "false positive".
    terms = sorted(((one, second), (two, first)), key=lambda t: -len(t[0]))
    pattern = re.compile(rf"(?<![\w.-]){_NAMED_BY}({terms[0][0]}|{terms[1][0]})(e?s)?(?![\w(-])", re.I)
    found = len(pattern.findall(statement))
    if not found or found != len(re.findall(rf"{one}|{two}", statement, re.I)):
        return None  # none, or one inside code or a name ("Leaky ReLU"): left whole

    def trade(match: re.Match[str]) -> str:
        said = match.group(1)
        other = second if re.fullmatch(one, said, re.I) else first
        before = statement[: match.start()].rstrip()
        opens = not before or (before[-1] in ".!?" and not re.search(r"\b(?:e\.g|i\.e)\.$", before, re.I))
        if opens and other[0].islower():
            other = other[0].upper() + other[1:]
        elif said[0].islower() and other[0].isupper() and not other.isupper() and other[1:].islower():
            other = other[0].lower() + other[1:]  # "Sigmoid" written capitalised in the table
        return _plural(other) if match.group(2) else other

    out, last = [], 0
    for match in pattern.finditer(statement):
        before = statement[last : match.start()]
        word = trade(match)
        article = re.search(r"\b(an?)\s+$", before, re.I)
        if article:
            sound = (
                word[0].upper() in _VOWEL_SOUND_LETTERS
                if word.split()[0].isupper()
                else word[0].lower() in "aeiou"
            )
            fitting = "an" if sound else "a"
            if article.group(1)[0].isupper():
                fitting = fitting.capitalize()
            before = before[: article.start(1)] + fitting + before[article.end(1) :]
        out.append(before + word)
        last = match.end()
    turned = "".join(out) + statement[last:]
    return turned if turned != statement else None


DENIALS_FILE = "judge/denials.yaml"
AFFIRMATIONS_FILE = "judge/reasoned_affirmations.yaml"
MISCONCEPTIONS_FILE = "judge/misconception_readings.yaml"


class PointDenials(BaseModel):
    key_point: str
    contradicts: list[str] = Field(min_length=1)


class QuestionDenials(BaseModel):
    question_id: str
    key_points: list[PointDenials] = Field(min_length=1)


class PointAffirmations(BaseModel):
    key_point: str
    entails: list[str] = Field(min_length=1)


class QuestionAffirmations(BaseModel):
    question_id: str
    key_points: list[PointAffirmations] = Field(min_length=1)


class QuestionMisconceptions(BaseModel):
    question_id: str
    misconceptions: list[MisconceptionPairs] = Field(min_length=1)


# A file of sentences written beside the pairs: for each key point, the reasoned denials (a true
# opening, the point said wrong, a plausible reason: contradictions) or the reasoned affirmations (the
# point said right with a true contrast, reason or purpose clause: entailments); or, for each
# misconception, more readings of its claim as a candidate says it (asserted: in other words, with a
# false reason, inside a true opening) and denied (in the claim's own words, or with the true reason).
QuestionReasoned = QuestionDenials | QuestionAffirmations | QuestionMisconceptions


_Reasoned = TypeVar("_Reasoned", QuestionDenials, QuestionAffirmations, QuestionMisconceptions)


def _load_reasoned(path: Path, kind: str, model: type[_Reasoned]) -> dict[str, _Reasoned]:
    """A reasoned file by question id; a bad file or entry is one line naming the file and the entry,
    and so is an empty one: a recipe that asks for the file and finds nothing in it would train
    without it, silently."""
    entries = _by_question_id(_question_entries(path, kind, model), kind, path)
    if not entries:
        listed = " and ".join(k for k, f in model.model_fields.items() if f.is_required())
        raise PairsError(f"{kind} file {path}: no questions (list each as {listed})")
    return entries


def load_denials(path: Path) -> dict[str, QuestionDenials]:
    """The reasoned denials (judge/denials.yaml), by question id."""
    return _load_reasoned(path, "denials", QuestionDenials)


def load_affirmations(path: Path) -> dict[str, QuestionAffirmations]:
    """The reasoned affirmations (judge/reasoned_affirmations.yaml), by question id."""
    return _load_reasoned(path, "affirmations", QuestionAffirmations)


def load_misconception_readings(path: Path) -> dict[str, QuestionMisconceptions]:
    """The misconceptions' further readings (judge/misconception_readings.yaml), by question id."""
    return _load_reasoned(path, "misconception readings", QuestionMisconceptions)


# Each reasoned file (its path under the repository) and how it is read, in the order training joins
# them to the pairs.
REASONED_FILES: dict[str, Callable[[Path], Mapping[str, QuestionReasoned]]] = {
    DENIALS_FILE: load_denials,
    AFFIRMATIONS_FILE: load_affirmations,
    MISCONCEPTIONS_FILE: load_misconception_readings,
}


def check_reasoned(
    pairs: dict[str, QuestionPairs], reasoned: Mapping[str, QuestionReasoned], name: str
) -> list[str]:
    """Problems a reviewer must fix in a reasoned file (`name`, e.g. judge/denials.yaml): a question or
    key point or misconception that has no judge pairs (a typo, or a reworded rubric whose pairs moved
    on without it)."""
    problems = []
    for qid, entry in reasoned.items():
        if qid not in pairs:
            problems.append(f"{name}: {qid}: no judge pairs for this question")
            continue
        if isinstance(entry, QuestionMisconceptions):
            kind, texts = "misconception", [m.claim for m in entry.misconceptions]
            known = {m.claim for m in pairs[qid].misconceptions}
        else:
            kind, texts = "key point", [p.key_point for p in entry.key_points]
            known = {p.key_point for p in pairs[qid].key_points}
        seen: set[str] = set()
        for text in texts:
            if text not in known:
                problems.append(f"{name}: {qid}: no such {kind}: {text[:70]!r}")
            elif text in seen:
                problems.append(f"{name}: {qid}: {kind} listed twice: {text[:70]!r}")
            seen.add(text)
    return problems


def with_reasoned(pairs: dict[str, QuestionPairs], root: Path, name: str) -> dict[str, QuestionPairs]:
    """The pairs with each point's reasoned sentences (the file `name` of REASONED_FILES, under `root`)
    joined to its contradicts (denials) or its entails (affirmations), and each misconception's further
    readings to its asserts and denies, after its own."""
    path = root / name
    reasoned = REASONED_FILES[name](path)
    problems = check_reasoned(pairs, reasoned, name)
    if problems:
        raise PairsError(f"{problems[0]} ({path})")
    joined = dict(pairs)
    for qid, entry in reasoned.items():
        if isinstance(entry, QuestionMisconceptions):
            joined[qid] = joined[qid].model_copy(
                update={"misconceptions": _joined_readings(joined[qid], entry)}
            )
            continue
        extra: dict[str, PointDenials | PointAffirmations] = {p.key_point: p for p in entry.key_points}
        points = []
        for point in joined[qid].key_points:
            more = extra.get(point.key_point)
            if isinstance(more, PointDenials):
                point = point.model_copy(update={"contradicts": [*point.contradicts, *more.contradicts]})
            elif isinstance(more, PointAffirmations):
                point = point.model_copy(update={"entails": [*point.entails, *more.entails]})
            points.append(point)
        joined[qid] = joined[qid].model_copy(update={"key_points": points})
    return joined


def _joined_readings(pairs: QuestionPairs, more: QuestionMisconceptions) -> list[MisconceptionPairs]:
    extra = {m.claim: m for m in more.misconceptions}
    out = []
    for m in pairs.misconceptions:
        if added := extra.get(m.claim):
            m = m.model_copy(
                update={"asserts": [*m.asserts, *added.asserts], "denies": [*m.denies, *added.denies]}
            )
        out.append(m)
    return out


def check_swaps(
    rubrics: list[Rubric], pairs: dict[str, QuestionPairs], swaps: dict[str, list[tuple[str, str]]]
) -> list[str]:
    """Problems a reviewer must fix in judge/swaps.yaml: a question that is not a rubric, and terms that
    trade in none of the question's points or their affirmations (a typo, or a reworded rubric)."""
    by_id = {r.question_id: r for r in rubrics}
    problems = []
    for qid, terms in swaps.items():
        rubric = by_id.get(qid)
        if rubric is None:
            problems.append(f"{SWAPS_FILE}: {qid}: no such rubric")
            continue
        entry = pairs.get(qid)
        statements = [k.text for k in rubric.key_points]
        statements += [s for p in (entry.key_points if entry else []) for s in p.entails]
        for first, second in terms:
            if not any(swapped(s, first, second) for s in statements):
                problems.append(
                    f"{SWAPS_FILE}: {qid}: '{first}' / '{second}' trade in none of its key points"
                )
    return problems


def swapped_examples(
    rubrics: list[Rubric],
    pairs: dict[str, QuestionPairs],
    swaps: dict[str, list[tuple[str, str]]],
    seed: int,
) -> list[Example]:
    """Denials by swapped terms: each key point of a question that contrasts two terms, and each of its
    affirmations, with the terms traded contradicts the point, alone and among other sentences. The
    judge read "an iteration is one full pass over the data" as entailing "an epoch is one complete
    pass over the training dataset" (0.93): only the term differs, and no other example turns on it.
    One pair of terms at a time: trading two ("recall is TP / (TP + FN)") can make a true statement."""
    rng = random.Random(seed + 4)
    out: list[Example] = []
    for rubric, _, group, points in _paired_points(rubrics, pairs):
        for first, second in swaps.get(rubric.question_id, []):
            for p in points:
                others = [s for o in points if o is not p for s in o.entails]
                for statement in (p.key_point, *p.entails):
                    turned = swapped(statement, first, second)
                    if turned is None:
                        continue
                    out.append(Example(_sentence(turned), p.key_point, CONTRADICT, "swapped", group))
                    if others:
                        context = _among(_sentence(turned), others, rng)
                        out.append(Example(context, p.key_point, CONTRADICT, "swapped-in-context", group))
    return out


# How composed clauses are joined into one sentence (`composed_examples`).
_JOINERS = (", and ", "; ", ", while ", ", and also ")
_KEEPS_CAPITAL = re.compile(r"^(?:I\b|[A-Z]{2,}|[A-Z][a-z]*[A-Z0-9])")


def _unended(statement: str) -> str:
    return statement.strip().rstrip(".!").rstrip()


def _as_clause(statement: str) -> str:
    """A statement as a clause inside a longer sentence: no final stop, lower-case first letter unless
    it starts a name or an acronym ("ReLU", "GPUs", "L2", "I")."""
    text = _unended(statement)
    if text and not _KEEPS_CAPITAL.match(text):
        text = text[0].lower() + text[1:]
    return text


def _joined(statements: list[str], rng: random.Random) -> str:
    """The statements as one long sentence, joined by "and", ";" or "while", as a fluent answer runs
    several points together."""
    first, *rest = [_unended(s) for s in statements]
    text = first + "".join(rng.choice(_JOINERS) + _as_clause(s) for s in rest)
    return text + "."


def composed_examples(rubrics: list[Rubric], pairs: dict[str, QuestionPairs], seed: int) -> list[Example]:
    """Long premises that run several points of one question together, labelled by one point alone.

    A long on-topic sentence read as entailing every point of its question, stated or not (a fluent
    answer's "the weights are updated by adding the gradient times the learning rate, so they move
    where the loss increases fastest" entailed "gradient descent moves each weight opposite to its
    gradient" at 0.94), because the only long premises in training were model answers and statements
    in context, all entailing their point. Here, for each point: two or three other points'
    affirmations, as sentences or joined into one, are neutral to it; one or two joined with a denial
    of it contradict it; joined with an affirmation of it, they entail it."""
    rng = random.Random(seed + 5)
    out: list[Example] = []
    for _, _, group, points in _paired_points(rubrics, pairs):
        for p in points:
            others = [o for o in points if o is not p and o.entails]
            if len(others) < 2:
                continue
            chosen = _affirmations(rng.sample(others, min(len(others), rng.randint(2, 3))), rng)
            out.append(Example(_joined(chosen, rng), p.key_point, NEUTRAL, "composed-without", group))
            chosen = _affirmations(rng.sample(others, min(len(others), rng.randint(2, 3))), rng)
            as_sentences = " ".join(_sentence(s) for s in chosen)
            out.append(Example(as_sentences, p.key_point, NEUTRAL, "composed-without", group))
            for label, statements in ((CONTRADICT, p.contradicts), (ENTAIL, p.entails)):
                context = _affirmations(rng.sample(others, rng.randint(1, 2)), rng)
                context.insert(rng.randint(0, len(context)), rng.choice(statements))
                out.append(Example(_joined(context, rng), p.key_point, label, "composed-with", group))
    return out


# How many points of a question's own words make one whole answer, and where a wrong point may sit:
# a pair is cut at the judge's length limit (longest first), so only an answer's opening is read.
WHOLE_POINTS = 4
WHOLE_WRONG_WITHIN = 2


def whole_answer_examples(rubrics: list[Rubric], pairs: dict[str, QuestionPairs], seed: int) -> list[Example]:
    """Whole answers read against the whole model answer, as the grader's whole-answer reading does
    (premise: the answer; hypothesis: the model answer). No other example has a model answer as its
    hypothesis, and the judge read answers to other questions as entailing one (0.82 on the dev set's
    different-question answers, 0.94 on its strong ones). Answers are made of the authored pairs:
    affirmations of the first points in other words entail the model answer; the same with one point
    denied, or with a misconception asserted, contradict it; another question's answer, or one point
    alone, is neutral to it."""
    rng = random.Random(seed + 2)
    made = list(_paired_points(rubrics, pairs))
    answers = {rubric.question_id: _affirmations(points[:WHOLE_POINTS], rng) for rubric, _, _, points in made}
    groups = {rubric.question_id: group for rubric, _, group, _ in made}
    out: list[Example] = []
    for rubric, entry, group, points in made:
        model_answer = rubric.model_answer
        if not model_answer or len(points) < 2:
            continue
        shown = points[:WHOLE_POINTS]
        for _ in range(3):
            out.append(Example(" ".join(_affirmations(shown, rng)), model_answer, ENTAIL, "whole", group))
        for wrong in rng.sample(
            range(min(WHOLE_WRONG_WITHIN, len(shown))), min(WHOLE_WRONG_WITHIN, len(shown))
        ):
            sentences = _affirmations(shown, rng)
            sentences[wrong] = rng.choice(shown[wrong].contradicts)
            out.append(Example(" ".join(sentences), model_answer, CONTRADICT, "whole", group))
        asserted = [s for m in entry.misconceptions for s in m.asserts]
        if asserted:
            sentences = _affirmations(shown, rng)
            sentences.insert(rng.randint(0, 1), rng.choice(asserted))
            out.append(Example(" ".join(sentences), model_answer, CONTRADICT, "whole", group))
        strangers = [qid for qid, other in groups.items() if other != group]
        for qid in rng.sample(strangers, min(2, len(strangers))):
            out.append(Example(" ".join(answers[qid]), model_answer, NEUTRAL, "whole", group))
        out.append(Example(rng.choice(shown[-1].entails), model_answer, NEUTRAL, "whole", group))
    return out


def _affirmations(points: list[PointPairs], rng: random.Random) -> list[str]:
    return [rng.choice(p.entails) for p in points]


def _among(statement: str, others: list[str], rng: random.Random) -> str:
    """The statement among one or two of `others`, in a random order."""
    sentences = [statement, *rng.sample(others, min(len(others), rng.randint(1, 2)))]
    rng.shuffle(sentences)
    return " ".join(sentences)


ALIGNED_AT = 0.75  # a model-answer sentence this close to a key point states it
UNRELATED_BELOW = 0.45  # and one this far from a misconception claim says nothing about it
TRUE_BESIDE_CLAIM = 3  # the true sentences (model answer, key points) closest to a claim: none entails it
TRUE_BESIDE_POINT = 3  # the model-answer sentences closest to a key point: none contradicts it


def aligned_examples(rubrics: list[Rubric], encode) -> list[Example]:
    """Model-answer sentences in the key points' own words: the sentence closest to a point (by
    embedding, above ALIGNED_AT) entails it. Our affirmations avoid the point's words on purpose and
    our contradictions keep them; without these a model learns "same words, so contradiction".
    Sentences far from a misconception claim are neutral to it.

    And the true sentences closest to each claim (the model answer's and the key points) do not
    entail it: they share its words and often say its opposite ("deactivated per iteration" beside
    "the same fixed set for the whole run"), which a judge trained only on asserting and denying
    paraphrases read as entailment, so model answers lost points for misconceptions they refute.

    And the model-answer sentences closest to a key point (other than the one aligned to it) do not
    contradict it: labelled NOT_CONTRADICT, since they may entail it or be neutral."""
    from interviewer.grading.text import units

    out: list[Example] = []
    for rubric in rubrics:
        sentences = [u for u in units(rubric.model_answer or "") if len(u.split()) >= 5]
        if not sentences:
            continue
        group = group_key(rubric)
        points = [k.text for k in rubric.key_points]
        claims = [m.claim for m in rubric.misconceptions]
        vectors = encode([*sentences, *points, *claims])
        s_vecs = vectors[: len(sentences)]
        p_vecs = vectors[len(sentences) : len(sentences) + len(points)]
        c_vecs = vectors[len(sentences) + len(points) :]
        for point, vec in zip(points, p_vecs, strict=True):
            sims = s_vecs @ vec
            best = int(sims.argmax())
            if sims[best] >= ALIGNED_AT:
                out.append(Example(sentences[best], point, ENTAIL, "model-answer-sentence", group))
        for claim, vec in zip(claims, c_vecs, strict=True):
            sims = s_vecs @ vec
            for i in [int(i) for i in sims.argsort()[:2]]:
                if sims[i] < UNRELATED_BELOW:
                    out.append(Example(sentences[i], claim, NEUTRAL, "model-answer-sentence", group))
            for i in [int(i) for i in (-sims).argsort()[:TRUE_BESIDE_CLAIM]]:
                if sims[i] >= UNRELATED_BELOW:
                    out.append(Example(sentences[i], claim, NEUTRAL, "true-beside-claim", group))
            for i in [int(i) for i in (-(p_vecs @ vec)).argsort()[:2]]:
                out.append(Example(points[i], claim, NEUTRAL, "true-beside-claim", group))
        # The model answer is true, so none of its sentences contradicts one of its own key points: the
        # closest ones share the point's words, which a judge can read as a contradiction.
        for point, vec in zip(points, p_vecs, strict=True):
            sims = s_vecs @ vec
            closest = [int(i) for i in (-sims).argsort()[: TRUE_BESIDE_POINT + 1]]
            aligned = closest[0] if sims[closest[0]] >= ALIGNED_AT else None
            for i in [i for i in closest if i != aligned][:TRUE_BESIDE_POINT]:
                out.append(Example(sentences[i], point, NOT_CONTRADICT, "true-beside-point", group))
    return out


# ---- public sets ----------------------------------------------------------------------------------

SEMEVAL_LABELS = {"correct": ENTAIL, "contradictory": CONTRADICT, "incorrect": NEUTRAL}
NLI_LABELS = {"entailment": ENTAIL, "neutral": NEUTRAL, "contradiction": CONTRADICT}


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def semeval_examples(
    folder: Path, per_dataset: int, seed: int, opposites: bool = False, rewordings: bool = False
) -> list[Example]:
    """SemEval-2013 train only (its test splits are what we report): reference vs student answer,
    `per_dataset` rows of each dataset, chosen by the seed. With `opposites`, also the same rows'
    correct answers with one word of their reference (or its opposite) turned into its opposite
    (`opposed`), contradicting their reference ("the pitch will be lower" against "when the string
    is tighter, the pitch will be higher"). With `rewordings`, also those correct answers with one
    word turned into another that says the same (`reworded`), entailing their reference."""
    rows = [r for r in _csv(folder / SEMEVAL_FILE) if r["split"] == "train"]
    rng = random.Random(seed)
    chosen: list[dict[str, str]] = []
    for dataset in ("sciEntsBank", "beetle"):
        of_dataset = [r for r in rows if r["dataset"] == dataset]
        rng.shuffle(of_dataset)
        chosen += of_dataset[:per_dataset]
    out = [
        Example(
            r["student_answer"],
            r["reference_answer"],
            SEMEVAL_LABELS[r["label_3way"]],
            f"semeval-{r['dataset']}",
            f"semeval:{r['question_id']}",
        )
        for r in chosen
    ]
    correct = [r for r in chosen if r["label_3way"] == "correct"]
    if opposites:
        out += _correct_answers_turned(correct, random.Random(seed + 2), opposed, CONTRADICT, "opposite")
    if rewordings:
        out += _correct_answers_turned(correct, random.Random(seed + 3), reworded, ENTAIL, "reworded")
    return out


def _correct_answers_turned(
    rows: list[dict[str, str]],
    rng: random.Random,
    turn: Callable[[str, random.Random, str], str | None],
    label: int,
    source: str,
) -> list[Example]:
    """SemEval's correct answers with one word turned by `turn` (which reads the reference as `about`),
    labelled `label` against their reference."""
    out: list[Example] = []
    for r in rows:
        turned = turn(r["student_answer"], rng, r["reference_answer"])
        if turned is not None:
            where = f"semeval-{r['dataset']}-{source}", f"semeval:{r['question_id']}"
            out.append(Example(turned, r["reference_answer"], label, *where))
    return out


def saf_examples(folder: Path, correct_cap: int, seed: int) -> list[Example]:
    """SAF train only (unseen answers and unseen questions are reported): full marks entail the
    reference; answers marked Incorrect are neutral to it (no contradiction label exists there)."""
    rows = [r for r in _csv(folder / SAF_FILE) if r["split"] == "train"]
    rng = random.Random(seed)
    rng.shuffle(rows)
    out: list[Example] = []
    correct = 0
    for r in rows:
        label = r["verification_feedback"]
        if label == "Correct" and correct < correct_cap:
            correct += 1
            out.append(
                Example(r["provided_answer"], r["reference_answer"], ENTAIL, "saf", f"saf:{r['question_id']}")
            )
        elif label == "Incorrect":
            out.append(
                Example(
                    r["provided_answer"], r["reference_answer"], NEUTRAL, "saf", f"saf:{r['question_id']}"
                )
            )
    return out


def snli_examples(folder: Path) -> list[Example]:
    return [
        Example(r["sentence1"], r["sentence2"], NLI_LABELS[r["gold_label"]], "snli", "snli")
        for r in _csv(folder / SNLI_FILE)
        if r.get("gold_label") in NLI_LABELS
    ]


def nli_eval_sets(benchmarks: Path) -> dict[str, list[Example]]:
    """Non-commercial NLI sets, for reporting the judge's accuracy only (never trained on)."""
    sets: dict[str, list[Example]] = {}
    sick = benchmarks / "sick" / "sick.csv"
    if sick.exists():
        rows = [r for r in _csv(sick) if r.get("SemEval_set") == "TEST"]
        sets["sick-test"] = [
            Example(r["sentence_A"], r["sentence_B"], NLI_LABELS[r["entailment_label"].lower()], "sick")
            for r in rows
            if r["entailment_label"].lower() in NLI_LABELS
        ]
    anli = benchmarks / "anli_dev" / "anli_dev_r1_r3.csv"
    if anli.exists():
        codes = {"e": ENTAIL, "n": NEUTRAL, "c": CONTRADICT}
        sets["anli-dev"] = [
            Example(r["context"], r["statement"], codes[r["gold_label"]], "anli")
            for r in _csv(anli)
            if r.get("gold_label") in codes
        ]
    return sets
