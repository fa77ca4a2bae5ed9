"""Layer 4, session: the seeded interview state machine, its phrasing, review and history.

May import: domain, sources, grading.
"""
