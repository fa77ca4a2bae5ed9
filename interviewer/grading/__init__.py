"""Layer 3, grading: text analysis, the embedder, the rubric index, the NLI judge, calibration, the Grader.

May import: domain, sources.
"""
