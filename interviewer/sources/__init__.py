"""Layer 2, sources: the question banks, rubric files and answer-row readers (CSV, JSONL, Parquet).

May import: domain.
"""
