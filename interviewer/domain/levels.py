"""Question levels: the one list, its aliases in question banks, and their order."""

from __future__ import annotations

LEVELS = ("beginner", "intermediate", "advanced")
DEFAULT_LEVEL = "beginner"
UNRATED = "unrated"

# The words question banks use for a level.
LEVEL_ALIASES = {
    "basic": "beginner",
    "beginner": "beginner",
    "easy": "beginner",
    "intermediate": "intermediate",
    "medium": "intermediate",
    "advanced": "advanced",
    "hard": "advanced",
    "expert": "advanced",
}

# Display order of levels in tables, unrated last.
LEVEL_ORDER = {**{level: i for i, level in enumerate(LEVELS)}, UNRATED: len(LEVELS)}


def normalize_level(word: str | None) -> str | None:
    """The level a word names ("Easy" -> beginner), or None."""
    return LEVEL_ALIASES.get(word.strip().lower()) if word else None
