"""The validity probes (`evals/validity.yaml`), read and checked: per rubric, a faithful paraphrase of
its model answer and the model answer with one essential key point negated, written for this and
never trained on. They are graded and counted in `grading/validity.py`."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from interviewer.sources.files import read_text

VALIDITY_FILE = "validity.yaml"
_HINT = "each probe needs question_id, paraphrase, and negated with key_point and answer"


class ProbeError(ValueError):
    """A probes file that cannot be read; the message says where and what to do."""


class NegatedProbe(BaseModel):
    key_point: str = Field(min_length=1)  # the essential point the answer negates, as the rubric words it
    answer: str = Field(min_length=1)


class ValidityProbe(BaseModel):
    question_id: str = Field(min_length=1)
    paraphrase: str = Field(min_length=1)
    negated: NegatedProbe
    line: int = 0  # where the probe starts in its file, for messages


def load_probes(path: Path) -> list[ValidityProbe]:
    """The probes in `path`, in file order. Raises ProbeError naming the file, line and field."""
    text = read_text(path, ProbeError, "validity probes")
    loader = yaml.SafeLoader(text)
    try:  # parsed once: the node tree gives each probe's line, and is built into the values
        tree = loader.get_single_node()
        entries = loader.construct_document(tree) if tree is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path} line {mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise ProbeError(f"{where}: not valid YAML ({problem}); fix the syntax there") from None
    finally:
        loader.dispose()
    if not isinstance(entries, list) or not isinstance(tree, yaml.SequenceNode):
        raise ProbeError(f"{path}: expected a list of probes (- question_id: …); {_HINT}")
    probes: list[ValidityProbe] = []
    for entry, node in zip(entries, tree.value, strict=True):
        line = node.start_mark.line + 1
        if not isinstance(entry, dict):
            raise ProbeError(f"{path} line {line}: a probe is a mapping; {_HINT}")
        try:
            probes.append(ValidityProbe.model_validate({**entry, "line": line}))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"])
            name = entry.get("question_id") or "a probe"
            raise ProbeError(f"{path} line {line}: {name}: {field}: {first['msg']}; {_HINT}") from None
    return probes
