"""The FAISS index: what it holds, how it is persisted, and that a stale or broken one rebuilds itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from interviewer.grading.index import (
    INDEX_FORMAT_VERSION,
    Manifest,
    RubricIndex,
    load_index,
    open_index,
    save_index,
    stale_reason,
)
from interviewer.sources.rubric import content_hash, load_rubrics, save_rubrics

ROOT = Path(__file__).resolve().parent.parent

SMALL = ["000-12", "002-06", "001-10"]  # vanishing gradients, dropout, a reference longer than one passage


@pytest.fixture()
def rubrics(grader):
    """Private copies of three real rubrics (tests edit them)."""
    return [grader.rubric(q).model_copy(deep=True) for q in SMALL]


@pytest.fixture()
def embedder(grader):
    return grader.embedder


@pytest.fixture()
def notices():
    return []


def test_index_holds_questions_references_key_points_and_misconceptions(rubrics, embedder):
    import faiss

    built = RubricIndex.build(rubrics, embedder)
    assert isinstance(built.faiss_index, faiss.IndexFlatIP)
    for rubric in rubrics:
        qid = rubric.question_id
        assert len(built.rows(qid, "question")) == 1
        assert len(built.rows(qid, "reference")) >= 1
        assert len(built.rows(qid, "key_point")) == len(rubric.key_points)
        assert len(built.rows(qid, "misconception")) == len(rubric.misconceptions) > 0
        claims = [built.items[r].text for r in built.rows(qid, "misconception")]
        assert claims == [m.claim for m in rubric.misconceptions]
    # A long reference is split into passages the model sees whole.
    assert len(built.rows("001-10", "reference")) == 2
    assert built.manifest.items == len(built.items) == built.faiss_index.ntotal


def test_vectors_are_normalized_so_inner_product_is_cosine(rubrics, embedder):
    built = RubricIndex.build(rubrics, embedder)
    assert np.allclose(np.linalg.norm(built.vectors, axis=1), 1.0, atol=1e-4)
    point = rubrics[1].key_points[0].text
    scores, rows = built.search(embedder.encode([point]), k=3)
    top = built.items[rows[0][0]]
    assert top.question_id == "002-06" and top.kind == "key_point" and top.text == point
    assert scores[0][0] == pytest.approx(1.0, abs=1e-4)


def test_saved_index_carries_a_manifest_and_loads_back_identical(rubrics, embedder, tmp_path):
    built = RubricIndex.build(rubrics, embedder)
    save_index(built, tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest == {
        "format": INDEX_FORMAT_VERSION,
        "model": embedder.model_name,
        "dimension": 384,
        "rubric_hash": content_hash(rubrics),
        "items": len(built.items),
    }
    assert stale_reason(tmp_path, rubrics, embedder.model_name) is None
    loaded = load_index(tmp_path, rubrics)
    assert loaded.items == built.items
    assert np.allclose(loaded.vectors, built.vectors)


def test_first_open_builds_and_a_fresh_index_opens_silently(rubrics, embedder, tmp_path, notices):
    folder = tmp_path / "index"
    first = open_index(folder, rubrics, embedder, notice=notices.append)
    assert notices == ["Building the rubric index (first run)."]
    assert (folder / "manifest.json").exists()
    second = open_index(folder, rubrics, embedder, notice=notices.append)
    assert len(notices) == 1
    assert np.allclose(first.vectors, second.vectors)


def test_changed_rubrics_rebuild_with_a_one_line_notice(rubrics, embedder, tmp_path, notices):
    open_index(tmp_path, rubrics, embedder)
    rubrics[0].key_points[0].text = "Gradients get multiplied by many small factors on the way back"
    rebuilt = open_index(tmp_path, rubrics, embedder, notice=notices.append)
    assert notices == ["Rebuilding the rubric index (rubrics changed)."]
    assert rebuilt.items[rebuilt.rows("000-12", "key_point")[0]].text.startswith("Gradients get multiplied")
    # The rebuilt index was saved: the next open is silent and serves the new text.
    assert stale_reason(tmp_path, rubrics, embedder.model_name) is None
    assert any(i.text.startswith("Gradients get multiplied") for i in load_index(tmp_path, rubrics).items)


def test_changed_embedding_model_rebuilds(rubrics, embedder, tmp_path, notices):
    open_index(tmp_path, rubrics, embedder)
    manifest = tmp_path / "manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "model": "an-older-model"}))
    assert stale_reason(tmp_path, rubrics, embedder.model_name).startswith("embedding model changed")
    open_index(tmp_path, rubrics, embedder, notice=notices.append)
    assert notices == [
        f"Rebuilding the rubric index (embedding model changed (an-older-model → {embedder.model_name}))."
    ]
    assert json.loads(manifest.read_text())["model"] == embedder.model_name


def test_older_index_format_rebuilds(rubrics, embedder, tmp_path, notices):
    open_index(tmp_path, rubrics, embedder)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "format": INDEX_FORMAT_VERSION - 1}))
    open_index(tmp_path, rubrics, embedder, notice=notices.append)
    assert notices == ["Rebuilding the rubric index (index format changed)."]


def _truncate(path):
    path.write_bytes(path.read_bytes()[:100])


CORRUPTIONS = {
    "faiss file truncated": lambda d: _truncate(d / "index.faiss"),
    "faiss file garbage": lambda d: (d / "index.faiss").write_bytes(b"\x00garbage" * 50),
    "items not JSON": lambda d: (d / "items.json").write_text("[{"),
    "items of the wrong shape": lambda d: (d / "items.json").write_text('[{"kind": "nonsense"}]'),
    "items and vectors disagree": lambda d: (d / "items.json").write_text(
        json.dumps(json.loads((d / "items.json").read_text())[:-1])
    ),
    "manifest not JSON": lambda d: (d / "manifest.json").write_text("{not json"),
    "manifest missing a field": lambda d: (d / "manifest.json").write_text('{"model": "x"}'),
    "manifest counts other items": lambda d: (d / "manifest.json").write_text(
        json.dumps({**json.loads((d / "manifest.json").read_text()), "items": 3})
    ),
    "items file missing": lambda d: (d / "items.json").unlink(),
}


@pytest.mark.parametrize("corrupt", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_corrupt_index_is_rebuilt_with_a_notice(rubrics, embedder, tmp_path, notices, corrupt):
    good = open_index(tmp_path, rubrics, embedder)
    corrupt(tmp_path)
    rebuilt = open_index(tmp_path, rubrics, embedder, notice=notices.append)
    assert len(notices) == 1 and notices[0].startswith(("Rebuilding the rubric index", "Building the rubric"))
    assert "\n" not in notices[0]
    assert rebuilt.items == good.items and np.allclose(rebuilt.vectors, good.vectors)
    # Repaired on disk: the next open needs no rebuild.
    open_index(tmp_path, rubrics, embedder, notice=notices.append)
    assert len(notices) == 1


def test_an_index_folder_that_cannot_be_written_is_used_in_memory(rubrics, embedder, tmp_path, notices):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the index folder should be")
    built = open_index(blocker / "index", rubrics, embedder, notice=notices.append)
    assert built.manifest.items == len(built.items)
    assert len(notices) == 2 and notices[1].startswith(f"Could not save the index to {blocker / 'index'}")
    assert notices[1].endswith("using it in memory.")


def test_faiss_write_failure_is_reported_not_raised(rubrics, embedder, tmp_path, notices):
    """faiss signals an unwritable file with RuntimeError; the index is still served from memory."""
    (tmp_path / "index.faiss").mkdir()
    built = open_index(tmp_path, rubrics, embedder, notice=notices.append)
    assert built.faiss_index.ntotal == len(built.items)
    assert notices[-1].startswith("Could not save the index") and "None" not in notices[-1]
    with pytest.raises(OSError, match="Is a directory"):
        save_index(built, tmp_path)


def test_grader_uses_the_folder_named_by_INTERVIEWER_INDEX_DIR(grader, tmp_path, monkeypatch):
    from interviewer.workspace import Workspace

    save_index(grader.index, tmp_path)
    monkeypatch.setenv("INTERVIEWER_INDEX_DIR", str(tmp_path))
    seen: list[str] = []
    ws = Workspace(ROOT, notice=seen.append)
    assert ws.index_dir == tmp_path
    assert ws.grader().index.manifest == grader.index.manifest
    assert seen == []  # loaded as is: no rebuild


def test_index_command_rebuilds_on_demand(grader, rubrics, tmp_path, monkeypatch):
    from interviewer.surfaces.cli import app

    home = tmp_path / "home"
    save_rubrics(home / "rubrics", rubrics)
    monkeypatch.setenv("INTERVIEWER_HOME", str(home))
    monkeypatch.setenv("INTERVIEWER_INDEX_DIR", str(tmp_path / "index"))
    runner = CliRunner()
    for _ in range(2):  # a fresh index is rebuilt too: the command always rebuilds
        result = runner.invoke(app, ["index"])
        assert result.exit_code == 0, result.output
        assert "Indexed" in result.output and "from 3 rubrics" in result.output
    on_disk = load_rubrics(home / "rubrics")
    manifest = Manifest.model_validate_json((tmp_path / "index" / "manifest.json").read_text())
    assert manifest.rubric_hash == content_hash(on_disk)
    assert stale_reason(tmp_path / "index", on_disk, grader.embedder.model_name) is None


def test_index_command_on_missing_rubrics_says_how_to_make_them(tmp_path, monkeypatch):
    from interviewer.sources.rubric import RubricError
    from interviewer.surfaces.cli import app

    monkeypatch.setenv("INTERVIEWER_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["index"])
    assert isinstance(result.exception, RubricError)
    assert "run `interviewer rubrics build`" in str(result.exception)
