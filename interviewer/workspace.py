"""Composition root: where the corpus, rubrics and index live, and how the pieces are wired.

Surfaces call `Workspace.discover()` and `workspace.grader()`; nothing else knows paths.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from interviewer.sources.bank import Question, load_corpus
from interviewer.sources.rubric import Rubric, load_rubrics

if TYPE_CHECKING:
    from interviewer.grading.grader import Grader
    from interviewer.grading.judge import CrossEncoderJudge

APP_NAME = "interviewer"


def user_data_dir() -> Path:
    """Transcripts, history and results a user owns; INTERVIEWER_DATA_DIR overrides (tests use it)."""
    override = os.environ.get("INTERVIEWER_DATA_DIR")
    path = Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _find_root() -> Path:
    """The project folder: INTERVIEWER_HOME, else the nearest folder up with rubrics/ and corpus/."""
    override = os.environ.get("INTERVIEWER_HOME")
    if override:
        return Path(override)
    for start in (Path.cwd(), Path(__file__).resolve().parent.parent):
        for folder in (start, *start.parents):
            if (folder / "rubrics").is_dir() and (folder / "corpus").is_dir():
                return folder
    return Path.cwd()


@dataclass
class Workspace:
    root: Path
    notice: Callable[[str], None] | None = None
    device: str | None = None  # auto | cpu | cuda for the embedder and the judge ($INTERVIEWER_DEVICE)
    backend: str | None = None  # numpy | torch on the CPU ($INTERVIEWER_BACKEND); None: numpy
    # fp32 | bf16 for the judge's reads (bf16: torch on a CPU only, see judge.resolve_precision)
    precision: str = "fp32"
    # minilm | mpnet: the judge's base (judge.chosen_base); None: $INTERVIEWER_JUDGE, else minilm
    judge_base: str | None = None
    _rubrics: list[Rubric] | None = field(default=None, repr=False)
    _grader: Grader | None = field(default=None, repr=False)

    @classmethod
    def discover(cls, notice: Callable[[str], None] | None = None) -> Workspace:
        return cls(_find_root(), notice)

    @property
    def corpus_dir(self) -> Path:
        return self.root / "corpus"

    @property
    def rubrics_dir(self) -> Path:
        return self.root / "rubrics"

    @property
    def index_dir(self) -> Path:
        return Path(os.environ.get("INTERVIEWER_INDEX_DIR") or self.root / "index")

    @property
    def evals_dir(self) -> Path:
        return self.root / "evals"

    def questions(self) -> list[Question]:
        return load_corpus(self.corpus_dir)

    def rubrics(self) -> list[Rubric]:
        if self._rubrics is None:
            self._rubrics = load_rubrics(self.rubrics_dir)
        return self._rubrics

    def grader(self) -> Grader:
        """The grader over the persisted index (rebuilt when stale). Loads the model: seconds."""
        if self._grader is None:
            from interviewer.grading.calibration import CALIBRATION_FILE, load_calibration
            from interviewer.grading.embedding import Embedder, default_cache_path
            from interviewer.grading.floors import FLOORS_FILE, load_shipped_floors
            from interviewer.grading.grader import Grader
            from interviewer.grading.index import open_index

            embedder = Embedder(
                disk_cache=None if os.environ.get("INTERVIEWER_NO_EMBED_CACHE") else default_cache_path(),
                device=self.device,
                backend=self.backend,
            )
            index = open_index(self.index_dir, self.rubrics(), embedder, notice=self.notice)
            judge = self.judge()
            # A judge folder may carry the calibration fitted on its readings and the floors read
            # with it (the mpnet judge's do); else the package's, fitted on the default judge.

            def judge_file(name: str) -> Path | None:
                path = judge.weights_dir / name if judge is not None else None
                return path if path is not None and path.is_file() else None

            calibration, floors = judge_file(CALIBRATION_FILE), judge_file(FLOORS_FILE)
            self._grader = Grader(
                index,
                embedder,
                calibration=load_calibration(calibration) if calibration else None,
                judge=judge,
                shipped_floors=load_shipped_floors(floors),
            )
        return self._grader

    def judge(self) -> CrossEncoderJudge | None:
        """The trained judge shipped in the package, or None when no weights were trained yet
        (the grader then falls back to similarity alone, and says so once)."""
        from interviewer.grading.judge import CrossEncoderJudge, chosen_base, resolve_precision

        base = chosen_base(self.judge_base)
        if base != "minilm":
            from interviewer.grading.embedding import resolve_device

            # It runs in torch, and reads in bf16 where the CPU has it natively: as it was trained,
            # measured and calibrated (README, judge section).
            self.precision = resolve_precision("auto", resolve_device(self.device), "torch")
        judge = CrossEncoderJudge(
            device=self.device, backend=self.backend, precision=self.precision, base=base
        )
        if judge.available:
            return judge
        if self.notice:
            self.notice(f"No trained judge in {judge.weights_dir}; grading by similarity only.")
        return None
