"""FAISS index over the rubrics: questions, references and key points.

Inner product over normalized sentence-transformers embeddings (= cosine), exact (`IndexFlatIP`):
a few thousand vectors, so exact search costs microseconds. Persisted beside a manifest naming the
model, the dimension and a hash of the rubric content; a stale or unreadable index is rebuilt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ValidationError

from interviewer.grading.embedding import Embed
from interviewer.sources.rubric import Rubric, content_hash

INDEX_FORMAT_VERSION = 2
ItemKind = Literal["question", "reference", "key_point", "misconception"]


class IndexItem(BaseModel):
    question_id: str
    kind: ItemKind
    position: int = 0  # key point / misconception index within its rubric
    text: str


class Manifest(BaseModel):
    format: int = INDEX_FORMAT_VERSION
    model: str
    dimension: int
    rubric_hash: str
    items: int


def reference_passages(reference: str, max_words: int = 180) -> list[str]:
    """A long reference split into passages the model sees whole (MiniLM truncates at 256 tokens)."""
    words = reference.split()
    if len(words) <= max_words:
        return [reference]
    return [" ".join(words[i : i + max_words]) for i in range(0, len(words), max_words)]


def index_items(rubrics: list[Rubric]) -> list[IndexItem]:
    items: list[IndexItem] = []
    for rubric in rubrics:
        items.append(IndexItem(question_id=rubric.question_id, kind="question", text=rubric.question))
        if rubric.model_answer:
            for n, passage in enumerate(reference_passages(rubric.model_answer)):
                items.append(
                    IndexItem(question_id=rubric.question_id, kind="reference", position=n, text=passage)
                )
        for n, point in enumerate(rubric.key_points):
            items.append(
                IndexItem(question_id=rubric.question_id, kind="key_point", position=n, text=point.text)
            )
        for n, wrong in enumerate(rubric.misconceptions):
            items.append(
                IndexItem(question_id=rubric.question_id, kind="misconception", position=n, text=wrong.claim)
            )
    return items


@dataclass
class RubricIndex:
    """Rubrics, their embedded items, and a FAISS index over them."""

    rubrics: dict[str, Rubric]
    items: list[IndexItem]
    vectors: np.ndarray
    faiss_index: Any
    manifest: Manifest

    @classmethod
    def build(cls, rubrics: list[Rubric], embedder: Embed) -> RubricIndex:
        import faiss

        items = index_items(rubrics)
        vectors = embedder.encode([item.text for item in items]).astype(np.float32)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        manifest = Manifest(
            model=embedder.model_name,
            dimension=int(vectors.shape[1]),
            rubric_hash=content_hash(rubrics),
            items=len(items),
        )
        return cls({r.question_id: r for r in rubrics}, items, vectors, index, manifest)

    # -- lookups used by the grader ------------------------------------------------------------

    def rows(self, question_id: str, kind: ItemKind) -> list[int]:
        by_key = self._by_key()
        return by_key.get((question_id, kind), [])

    def _by_key(self) -> dict[tuple[str, str], list[int]]:
        cached = getattr(self, "_key_rows", None)
        if cached is None:
            cached = {}
            for row, item in enumerate(self.items):
                cached.setdefault((item.question_id, item.kind), []).append(row)
            self._key_rows = cached
        return cached

    def search(self, queries: np.ndarray, k: int = 32) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self.items))
        scores, rows = self.faiss_index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, rows

    def question_scores(
        self, query: np.ndarray, k: int = 64, kinds: tuple[str, ...] | None = None
    ) -> dict[str, float]:
        """Best similarity per question among the top-k items for one query vector."""
        scores, rows = self.search(query.reshape(1, -1), k)
        best: dict[str, float] = {}
        for score, row in zip(scores[0], rows[0], strict=True):
            if row < 0:
                continue
            item = self.items[row]
            if kinds is not None and item.kind not in kinds:
                continue
            if item.question_id not in best:
                best[item.question_id] = float(score)
        return best


# ---- persistence --------------------------------------------------------------------------------


def _paths(folder: Path) -> tuple[Path, Path, Path]:
    return folder / "index.faiss", folder / "items.json", folder / "manifest.json"


def save_index(index: RubricIndex, folder: Path) -> None:
    """Write the index; raises OSError (never faiss's RuntimeError) when the folder cannot take it."""
    import faiss

    folder.mkdir(parents=True, exist_ok=True)
    faiss_path, items_path, manifest_path = _paths(folder)
    # Write the manifest last: a crash mid-save leaves no manifest, so the next load rebuilds.
    manifest_path.unlink(missing_ok=True)
    try:
        faiss.write_index(index.faiss_index, str(faiss_path))
    except RuntimeError as exc:  # faiss reports an unwritable path as a C++ exception
        reason = str(exc).strip().splitlines()[-1].split("failed: ")[-1]
        raise OSError(reason) from None
    items_path.write_text(json.dumps([i.model_dump() for i in index.items]), encoding="utf-8")
    manifest_path.write_text(index.manifest.model_dump_json(indent=2), encoding="utf-8")


def stale_reason(folder: Path, rubrics: list[Rubric], model_name: str) -> str | None:
    """Why the index in `folder` cannot serve these rubrics, or None when it can."""
    faiss_path, items_path, manifest_path = _paths(folder)
    present = [p.exists() for p in (faiss_path, items_path, manifest_path)]
    if not any(present):
        return "no index yet"
    if not all(present):
        return "index incomplete"
    try:
        manifest = Manifest.model_validate_json(manifest_path.read_text(encoding="utf-8"))
    except (ValidationError, ValueError, OSError):
        return "index manifest unreadable"
    if manifest.format != INDEX_FORMAT_VERSION:
        return "index format changed"
    if manifest.model != model_name:
        return f"embedding model changed ({manifest.model} → {model_name})"
    if manifest.rubric_hash != content_hash(rubrics):
        return "rubrics changed"
    return None


def load_index(folder: Path, rubrics: list[Rubric]) -> RubricIndex:
    import faiss

    faiss_path, items_path, manifest_path = _paths(folder)
    manifest = Manifest.model_validate_json(manifest_path.read_text(encoding="utf-8"))
    faiss_index = faiss.read_index(str(faiss_path))
    items = [IndexItem.model_validate(i) for i in json.loads(items_path.read_text(encoding="utf-8"))]
    if not faiss_index.ntotal == len(items) == manifest.items or faiss_index.d != manifest.dimension:
        raise ValueError("index, items and manifest disagree")
    vectors = faiss_index.reconstruct_n(0, faiss_index.ntotal)
    return RubricIndex({r.question_id: r for r in rubrics}, items, vectors, faiss_index, manifest)


def open_index(folder: Path, rubrics: list[Rubric], embedder: Embed, notice=None) -> RubricIndex:
    """Load the persisted index, rebuilding it (with a one-line notice) when stale or unreadable."""
    reason = stale_reason(folder, rubrics, embedder.model_name)
    if reason is None:
        try:
            return load_index(folder, rubrics)
        except Exception:  # any corruption: a rebuild is cheap and always correct
            reason = "index unreadable"
    if notice is not None and reason != "no index yet":
        notice(f"Rebuilding the rubric index ({reason}).")
    elif notice is not None:
        notice("Building the rubric index (first run).")
    index = RubricIndex.build(rubrics, embedder)
    try:
        save_index(index, folder)
    except OSError as exc:
        if notice is not None:
            notice(f"Could not save the index to {folder} ({exc.strerror or exc}); using it in memory.")
    return index
