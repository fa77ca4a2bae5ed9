"""interviewer: a mock interviewer and answer grader for deep-learning interviews."""

__version__ = "0.1.0"
