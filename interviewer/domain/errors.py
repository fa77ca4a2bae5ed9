"""The one base class of the errors a user can act on."""

from __future__ import annotations


class InterviewerError(Exception):
    """A problem the user can fix (a bad file, option or setting): the CLI prints it as one line and
    exits with status 2, never a traceback. Subclasses keep their builtin base (ValueError, …)."""
