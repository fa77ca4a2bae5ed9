"""Layer 6, surfaces: what a user runs (cli, batch grading, evals, report, voice, the terminal).

May import every layer below: domain, sources, grading, critic, session, workspace.
"""
