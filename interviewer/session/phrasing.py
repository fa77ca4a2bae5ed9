"""What the interviewer says between questions: templates that do not repeat within a session.

A quiz says "Question 3." every time; an interviewer varies how it moves on, reacts and probes.
Each kind of remark has several templates dealt like a shuffled deck, so a session sees every
template of a kind once before any comes back, and never the same one twice in a row.
Deterministic for a given seed, so a seeded session reads the same each time.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

TEMPLATES: dict[str, tuple[str, ...]] = {
    "opening": (
        "Hi, thanks for making the time. I'll ask you {questions}; take your time with each.",
        "Welcome! We'll go through {questions} together. Think out loud as much as you like.",
        "Good to meet you. Let's do {questions}, and I'll tell you how each answer lands.",
    ),
    "resume": (
        "Welcome back. Let's pick up where we left off, at question {number} of {total}.",
        "Good to see you again. We were at question {number} of {total}; let's carry on.",
    ),
    "first": (
        "Let's start with {topic}.",
        "To warm up, a question on {topic}.",
        "First, something on {topic}.",
    ),
    "next": (
        "Next one, on {topic}.",
        "Let's move on to {topic}.",
        "Here's another, this time on {topic}.",
        "Switching gears a little: {topic}.",
        "Okay, now {topic}.",
        "Let's talk about {topic}.",
        "On to the next question, about {topic}.",
        "Now a question on {topic}.",
    ),
    "same topic": (
        "Staying with {topic}:",
        "Another one on {topic}.",
        "Next one.",
        "Here's another.",
        "Let's stay on {topic} a little longer.",
        "Okay, next question.",
    ),
    "up": (
        "That went well, so let's try something harder.",
        "You clearly know that; let me raise the bar a little.",
        "Nice. Let's step it up a level.",
        "Good, let's see how you do with a tougher one.",
    ),
    "down": (
        "Let's step back to something more fundamental.",
        "Let's try one closer to the basics.",
        "No problem, let's build up from a simpler one.",
        "Let's ease off a little with the next one.",
    ),
    "review": (
        "This one gave you some trouble last time, so let's revisit it.",
        "You've seen this before; let's see if it sticks now.",
        "Back to one from an earlier session.",
    ),
    "strong": (
        "Nice, that's a solid answer.",
        "Great, that covers what I was looking for.",
        "That's a strong answer.",
        "Good, that's how I'd want to hear it explained.",
        "Very clear. That works.",
    ),
    "adequate": (
        "That's a reasonable start.",
        "Okay, you're on the right track.",
        "That gets part of the way there.",
        "Decent, though there's more to it.",
        "Fair enough; a few pieces are missing.",
    ),
    "weak": (
        "Hmm, that one is missing some important pieces.",
        "I think that one needs more work.",
        "That's not quite there yet.",
        "Let's look at what a stronger answer would include.",
        "That misses the heart of it, I'm afraid.",
    ),
    "no answer": (
        "No worries, that happens.",
        "That's alright; it's a good one to review.",
        "Fair enough. Let's note it for later.",
    ),
    "off-topic": (
        "I think that drifted away from the question.",
        "That sounds like an answer to a different question.",
        "Interesting, but it doesn't address what I asked.",
    ),
    "no reference": (
        "Thanks. I don't have a reference answer for this one, so I can't score it.",
        "Noted. There's no model answer for this one yet, so no score this time.",
    ),
    "follow-up": (
        "Let me dig into one part of that.",
        "Okay. One more thing on that:",
        "Let me push on that a little.",
        "Before we move on:",
        "I'd like to hear a bit more about one thing.",
    ),
    "skip": (
        "Sure, let's skip that one.",
        "No problem, moving on.",
        "Okay, we'll come back to that another time.",
    ),
    "hint": (
        "Here's a nudge:",
        "A small hint:",
        "Think about this:",
        "One thing to consider:",
    ),
    "no hint": (
        "I've given you all the hints I have for this one.",
        "That's all I can hint without giving it away.",
    ),
    "timeout": (
        "Time's up. I'll grade what you have so far.",
        "That's time. Let's look at what you wrote.",
        "Time's up on that one; grading what's there.",
    ),
    "reveal": (
        "Here's how I'd answer it. Since you've seen it, I won't score this one.",
        "Here's the model answer; this one won't be scored.",
    ),
    # Shown mid follow-up: the first answer was graded before the reveal, and its score stands.
    "reveal after grading": (
        "Here's how I'd answer it. Your first answer's score stands; the follow-up isn't scored.",
        "Here's the model answer. The follow-up won't be scored; your first answer's grade stands.",
    ),
    "closing": (
        "That's the end of our session. Thanks, good practice!",
        "That's all for today. Nice work sticking with it.",
        "We're done. Thanks for practising with me.",
    ),
}


class _Fields(dict):
    """Missing fields read as empty text: a template with a typo must never crash an interview."""

    def __missing__(self, key: str) -> str:
        return ""


class Phrasing:
    """Deals templates per kind from shuffled decks; deterministic for a seed."""

    def __init__(self, seed: int | None = 0, templates: Mapping[str, tuple[str, ...]] = TEMPLATES) -> None:
        self._rng = random.Random(seed)
        self._templates = templates
        self._decks: dict[str, list[int]] = {}
        self._last: dict[str, int] = {}

    def say(self, kind: str, **fields: object) -> str:
        options = self._templates.get(kind)
        if not options:
            return ""
        index = self._deal(kind, len(options))
        self._last[kind] = index
        return options[index].format_map(_Fields(fields)).strip()

    def _deal(self, kind: str, size: int) -> int:
        deck = self._decks.get(kind)
        if not deck:
            deck = list(range(size))
            self._rng.shuffle(deck)
            # A fresh deck must not start with the template that closed the last one.
            if size > 1 and deck[-1] == self._last.get(kind):
                deck[0], deck[-1] = deck[-1], deck[0]
            self._decks[kind] = deck
        return deck.pop()
