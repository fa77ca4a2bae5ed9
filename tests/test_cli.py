"""The real `interviewer` command, end to end in a subprocess: output, exit codes, and never a traceback."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from floor_checks import assert_floors_match

from interviewer.domain.levels import LEVELS
from interviewer.grading.index import save_index
from interviewer.sources.rubric import TOPICS
from interviewer.workspace import Workspace

# A strong answer lands in the "strong" band (models.band_for), whatever its exact score.
STRONG_AT = 3.75

ROOT = Path(__file__).resolve().parent.parent
EXE = Path(sys.executable).with_name("interviewer")
# Names each mitigation and says how it helps, as 000-12's key points ask (4.9 with the shipped grader;
# naming them alone, as this answer did before, scores 3.7: test_grading tracks that answer).
STRONG = (
    "Vanishing gradients happen when the gradient shrinks exponentially as it is backpropagated through "
    "many layers, because the chain rule multiplies many small derivatives, for example from saturating "
    "sigmoid or tanh units. The early layers then barely learn. Mitigations: ReLU-family activations do not "
    "saturate for positive inputs; He or Xavier initialization keeps the gradient variance stable from layer "
    "to layer; batch normalization keeps activations in a well-scaled range; residual connections add an "
    "identity path so gradients reach early layers directly; and gated units like LSTMs help in recurrent "
    "networks."
)


@pytest.fixture(scope="module")
def index_dir(grader, tmp_path_factory):
    """The session's (fresh) index, saved where the subprocesses look, so none of them rebuilds it."""
    folder = tmp_path_factory.mktemp("index")
    save_index(grader.index, folder)
    return folder


@pytest.fixture()
def env(index_dir, tmp_path):
    # No critic, home or index from the caller's shell; the embedding cache settings are kept.
    passed = ("INTERVIEWER_CACHE_DIR", "INTERVIEWER_NO_EMBED_CACHE")
    variables = {k: v for k, v in os.environ.items() if not k.startswith("INTERVIEWER_") or k in passed}
    variables.update(
        INTERVIEWER_INDEX_DIR=str(index_dir),
        INTERVIEWER_DATA_DIR=str(tmp_path / "data"),
        # Batch commands prefer torch (faster over a long batch, bf16 where the CPU has it); these tests
        # grade a row or two, where importing torch costs 4-5 s of each command's 6. The commands'
        # own choice is kept where it is what a test is about (throughput_env).
        INTERVIEWER_BACKEND="numpy",
        HF_HUB_OFFLINE="1",
        # The code of this checkout, whichever checkout the `interviewer` script was installed from.
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    )
    return variables


@pytest.fixture()
def throughput_env(env):
    """The environment with each command's own choice of backend (torch for a batch, when installed)."""
    return {k: v for k, v in env.items() if k != "INTERVIEWER_BACKEND"}


def interviewer(
    *args: str, env: dict, cwd: Path = ROOT, code: int | None = 0, stdin: str | None = None
) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(EXE), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        input=stdin,
    )
    assert "Traceback" not in done.stderr, done.stderr
    if code is not None:
        assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    return done


def flat(text: str) -> str:
    """Text with its line wrapping undone (Rich wraps long lines to the terminal width)."""
    return " ".join(text.split())


@pytest.fixture()
def home(tmp_path, monkeypatch):
    """A writable copy of the corpus and rubrics for commands that read or doctor them."""
    for name in ("corpus", "rubrics"):
        shutil.copytree(ROOT / name, tmp_path / "home" / name)
        for path in (tmp_path / "home" / name).iterdir():
            path.chmod(0o644)
    return tmp_path / "home"


# ---- questions ------------------------------------------------------------------------------------


def test_questions_json_lists_all_150_with_their_fields(env):
    lines = interviewer("questions", "--json", env=env).stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 150 and len({r["id"] for r in records}) == 150
    fields = {"id", "bank", "topic", "difficulty", "question", "asked", "has_reference"}
    assert all(set(r) == fields for r in records)
    banks = {p.stem for p in (ROOT / "corpus").iterdir()}
    assert {r["bank"] for r in records} == banks
    first = records[0]
    assert (
        first["id"] == "000-01" and first["bank"] == "000_dc053c1931fb3688" and first["has_reference"] is True
    )
    assert first["difficulty"] == "beginner" and first["topic"] == "fundamentals"
    assert sum(r["has_reference"] for r in records) == 80
    # One topic from the taxonomy and a level for every question; bare titles asked as questions.
    assert {r["topic"] for r in records} <= set(TOPICS) and all(r["difficulty"] in LEVELS for r in records)
    gpu = {r["id"]: r for r in records}["003-17"]
    assert gpu["topic"] == "evaluation" and gpu["question"] == "Interpretability vs performance trade-off"
    assert gpu["asked"].endswith("?")


def test_questions_filter_by_topic_and_difficulty(env):
    lines = interviewer("questions", "--json", "--topic", "CNN", "--difficulty", "Basic", env=env).stdout
    records = [json.loads(line) for line in lines.splitlines()]
    assert records and all(r["difficulty"] == "beginner" for r in records)
    assert all("cnn" in (r["topic"] or "").lower() for r in records)
    table = interviewer("questions", "--difficulty", "advanced", env=env).stdout
    assert table.rstrip().endswith("questions") and "advanced" in table


def test_questions_with_an_unknown_difficulty_is_one_clear_error(env):
    done = interviewer("questions", "--difficulty", "wizard", env=env, code=2)
    assert flat(done.stderr) == "error: unknown difficulty 'wizard': use beginner, intermediate or advanced"


def test_questions_with_a_topic_no_question_has_names_the_known_topics(env):
    done = interviewer("questions", "--topic", "xyz", env=env, code=2)
    assert flat(done.stderr).startswith("error: no topic contains 'xyz': known topics are cnn, data,")
    # A known topic with no question at the asked level is an empty list, not an error.
    none = interviewer("questions", "--json", "--topic", "generative", "--difficulty", "beginner", env=env)
    assert none.stdout == "" and none.stderr == ""


# ---- rubrics --------------------------------------------------------------------------------------


def test_rubrics_check_passes_on_the_repo(env):
    done = interviewer("rubrics", "check", env=env)
    assert "✓ 150 rubrics valid." in done.stdout and done.stderr == ""


def test_rubrics_check_fails_on_a_doctored_copy_naming_the_fault(env, home):
    path = home / "rubrics" / "000_dc053c1931fb3688.yaml"
    data = yaml.safe_load(path.read_text())
    [entry] = [r for r in data["rubrics"] if r["question_id"] == "000-12"]
    entry["follow_ups"][0]["probes"] = 12
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    done = interviewer("rubrics", "check", env={**env, "INTERVIEWER_HOME": str(home)}, code=1)
    assert done.stderr.splitlines() == [
        "✗ 000_dc053c1931fb3688.yaml: 000-12: follow-up probes key point 12, which does not exist "
        "(it has 7, numbered from 0)"
    ]


def test_rubrics_check_without_a_corpus_is_one_clear_error(env, tmp_path):
    done = interviewer("rubrics", "check", env={**env, "INTERVIEWER_HOME": str(tmp_path)}, code=2)
    assert (
        flat(done.stderr)
        == f"error: corpus folder {tmp_path / 'corpus'} does not exist; put markdown question banks there"
    )


def test_index_without_rubrics_is_one_clear_error(env, tmp_path):
    done = interviewer("index", env={**env, "INTERVIEWER_HOME": str(tmp_path)}, code=2)
    assert "does not exist; run `interviewer rubrics build`" in flat(done.stderr)


# ---- grade ----------------------------------------------------------------------------------------


def test_grade_a_csv_into_a_csv_then_resume(throughput_env, tmp_path):
    env = throughput_env
    source = tmp_path / "answers.csv"
    source.write_text(
        "id,question_id,question,answer\n"
        f'strong,000-12,,"{STRONG}"\n'
        "empty,000-12,,\n"
        "ghost,999-99,,hello\n"
        f'matched,,"What is the vanishing gradient problem, and how can it be mitigated?","{STRONG}"\n',
        encoding="utf-8",
    )
    output = tmp_path / "graded.csv"
    done = interviewer("grade", str(source), "-o", str(output), env=env)
    with output.open(encoding="utf-8", newline="") as handle:
        rows = {r["id"]: r for r in csv.DictReader(handle)}
    assert set(rows) == {"strong", "empty", "matched"}
    assert rows["strong"]["band"] == "strong" and float(rows["strong"]["score"]) >= STRONG_AT
    assert rows["empty"]["score"] == "0.0" and json.loads(rows["empty"]["flags"]) == ["empty"]
    assert rows["matched"]["matched_question"] and float(rows["matched"]["match_similarity"]) >= 0.6
    stderr = flat(done.stderr)
    assert f"skipped {source}: line 4 (id ghost): unknown question_id '999-99'" in stderr
    assert "Graded 3 answers" in stderr and "1 row skipped" in stderr

    again = interviewer("grade", str(source), "-o", str(output), env=env)
    assert "Resuming: 3 rows already in" in flat(again.stderr)
    assert len(output.read_text().splitlines()) == 4  # header + 3, nothing graded twice


def test_grade_without_output_writes_jsonl_to_stdout(env, tmp_path):
    source = tmp_path / "answers.jsonl"
    source.write_text(json.dumps({"id": 1, "question_id": "000-12", "answer": STRONG}) + "\n")
    done = interviewer("grade", str(source), env=env)
    [record] = [json.loads(line) for line in done.stdout.splitlines()]
    assert record["id"] == "1" and record["band"] == "strong" and record["question_id"] == "000-12"


def test_grade_exits_1_when_every_row_is_bad(env, tmp_path):
    source = tmp_path / "answers.jsonl"
    source.write_text('{"answer": "no id"}\nnot json\n')
    done = interviewer("grade", str(source), env=env, code=1)
    assert f"skipped {source}: line 1: missing `id`" in flat(done.stderr)
    assert f"skipped {source}: line 2: not valid JSON" in flat(done.stderr)
    # A line that is not UTF-8 is a bad row too in JSON Lines (each line stands alone)
    source.write_bytes(b'{"id": "1", "question_id": "000-12", "answer": "caf\xe9"}\n')
    done = interviewer("grade", str(source), env=env, code=1)
    assert f"skipped {source}: line 1 (id 1): not UTF-8 text (byte 51 of the line" in flat(done.stderr)


BAD_GRADE_INPUTS = {
    "missing": ("answers.jsonl", None, "no such file"),
    "empty": ("answers.jsonl", b"", "no rows found"),
    "not UTF-8": ("answers.csv", b"id,question_id,answer\n1,000-12,caf\xe9\n", "line 2: not UTF-8 text"),
}


@pytest.mark.parametrize(
    ("name", "content", "message"), BAD_GRADE_INPUTS.values(), ids=BAD_GRADE_INPUTS.keys()
)
def test_grade_an_unusable_file_is_one_clear_error(env, tmp_path, name, content, message):
    source = tmp_path / name
    if content is not None:
        source.write_bytes(content)
    done = interviewer("grade", str(source), env=env, code=2)
    assert flat(done.stderr).startswith(f"error: {source}") and message in flat(done.stderr)
    assert done.stdout == ""


def test_grade_an_unknown_extension_is_one_clear_error(env, tmp_path):
    source = tmp_path / "answers.xls"  # the old binary format: openpyxl reads .xlsx only
    source.write_text("id,answer\n")
    done = interviewer("grade", str(source), env=env, code=2)
    assert (
        flat(done.stderr) == f"error: {source}: unknown file type .xls; use .jsonl, .csv, .parquet or .xlsx"
    )


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_grade_reads_stdin_and_writes_stdout_with_dashes(env, fmt):
    if fmt == "jsonl":
        text = json.dumps({"id": "s", "question_id": "000-12", "answer": STRONG}) + "\n"
    else:
        text = f'id,question_id,answer\ns,000-12,"{STRONG}"\n'
    for args in (["-", "-o", "-"], ["-", "--format", fmt]):  # sniffed, then named
        done = interviewer("grade", *args, env=env, stdin=text)
        [record] = [json.loads(line) for line in done.stdout.splitlines()]
        assert record["id"] == "s" and record["band"] == "strong"


def test_grade_a_bad_stdin_row_is_named_by_line(env):
    text = '{"id": "a", "question_id": "000-12", "answer": "x"}\nnot json\n'
    done = interviewer("grade", "-", env=env, stdin=text)
    assert "skipped <stdin>: line 2: not valid JSON" in flat(done.stderr)


def test_grade_into_a_missing_folder_asks_for_mkdir(env, tmp_path):
    source = tmp_path / "answers.jsonl"
    source.write_text(json.dumps({"id": "s", "question_id": "000-12", "answer": STRONG}) + "\n")
    target = tmp_path / "nowhere" / "deeper" / "out.jsonl"
    done = interviewer("grade", str(source), "-o", str(target), env=env, code=2)
    assert "pass --mkdir" in flat(done.stderr) and not (tmp_path / "nowhere").exists()
    interviewer("grade", str(source), "-o", str(target), "--mkdir", env=env)
    assert target.exists()


def test_grade_exits_1_with_a_summary_when_the_critic_fell_back(env, tmp_path):
    source = tmp_path / "answers.jsonl"
    source.write_text(json.dumps({"id": "s", "question_id": "000-12", "answer": STRONG}) + "\n")
    dead = {**env, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "k"}
    done = interviewer(
        "grade",
        str(source),
        "-o",
        str(tmp_path / "out.jsonl"),
        "--critic",
        "openai",
        "--model",
        "m",
        "--no-cache",
        env=dead,
        code=1,
    )
    assert "1 answer kept the embedding grade because the critic failed" in flat(done.stderr)


# ---- eval -----------------------------------------------------------------------------------------


def _dev_subset(home: Path, questions: int = 4) -> None:
    """The dev set's first `questions` questions (4: 27 answers, every category but "good")."""
    lines = [
        line
        for path in sorted((ROOT / "evals" / "dev").glob("*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    keep: list[str] = []
    for line in lines:
        qid = json.loads(line)["question_id"]
        if qid not in keep:
            keep.append(qid)
    chosen = set(keep[:questions])
    (home / "evals" / "dev").mkdir(parents=True)
    (home / "evals" / "dev" / "part.jsonl").write_text(
        "\n".join(line for line in lines if json.loads(line)["question_id"] in chosen) + "\n"
    )


def test_eval_gate_fails_with_exit_1_on_a_doctored_baseline_and_writes_the_report(
    throughput_env, home, tmp_path
):
    _dev_subset(home)
    env = {**throughput_env, "INTERVIEWER_HOME": str(home)}
    baseline = tmp_path / "baseline.json"
    interviewer("eval", "--no-semeval", "--baseline", str(baseline), "--update-baseline", env=env)
    accepted = json.loads(baseline.read_text())
    accepted["metrics"]["spearman"] += 0.1
    accepted["trap_means"]["restated"] = accepted["trap_means"].get("restated", 0.0) - 1.0
    baseline.write_text(json.dumps(accepted))
    report = tmp_path / "report"
    done = interviewer(
        "eval", "--no-semeval", "--baseline", str(baseline), "--report", str(report), env=env, code=1
    )
    out = flat(done.stdout)
    assert "cross-validated by question" in out and "spearman" in out
    assert "regression: Spearman fell 0.100" in out
    assert "regression: trap category 'restated' mean rose 1.00" in out
    assert (report / "README.md").read_text().startswith("# Grader evaluation: dev")
    assert (report / "scatter.png").stat().st_size > 1000


def test_eval_a_bad_dataset_row_names_file_and_line(env, tmp_path):
    dataset = tmp_path / "labels.csv"
    dataset.write_text("question_id,answer,grade\n000-12,fine,3\n000-12,too good,9\n")
    done = interviewer("eval", str(dataset), "--no-semeval", env=env, code=2)
    assert flat(done.stderr) == f"error: {dataset} line 3: grade 9.0 is outside 0–5"


def test_eval_a_missing_dataset_is_one_clear_error(env, tmp_path):
    done = interviewer("eval", str(tmp_path / "nope.jsonl"), "--no-semeval", env=env, code=2)
    assert flat(done.stderr) == f"error: {tmp_path / 'nope.jsonl'}: no such file"


# ---- errors are one line, whatever the path -------------------------------------------------------


def test_an_error_about_a_long_or_bracketed_path_is_still_exactly_one_line(env, tmp_path):
    folder = tmp_path / ("a-rather-long-folder-name-" * 3) / "[/x]"
    done = subprocess.run(
        [str(EXE), "grade", str(folder / "answers.jsonl")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"error: {folder / 'answers.jsonl'}: no such file"]


def test_version_prints_the_package_version():
    from importlib.metadata import version

    done = subprocess.run([str(EXE), "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout.strip() == f"interviewer {version('interviewer')}"


def test_judge_info_prints_what_the_shipped_judge_was_trained_on_and_measured(env):
    done = interviewer("judge", "info", env=env)
    text = flat(done.stdout)
    assert "seed 13" in text and "authored-held-out" in text and "anli-dev" in text
    assert "2 judges averaged (shares 0.6 / 0.4)" in text  # SHIPPED_RECIPE


def test_judge_floors_reads_a_banks_model_answers_and_writes_what_ships(throughput_env, tmp_path):
    """`interviewer judge floors` reads each rubric's model answer with the judge and writes its
    floors: for one bank's 10 rubrics, the floors shipped for them. That the shipped file holds
    all 150 as the judge reads them now is tests/test_validity.py's, beside the model answers it
    grades (in process: 100 s less than this command over every bank)."""
    from interviewer.grading.floors import load_shipped_floors

    home = tmp_path / "home"
    for folder, pattern in (("corpus", "002_*"), ("rubrics", "002_*"), ("rubrics", "concepts.yaml")):
        (home / folder).mkdir(parents=True, exist_ok=True)
        for path in (ROOT / folder).glob(pattern):
            shutil.copy(path, home / folder / path.name)
    # The home's own index (the session's holds every bank's rubrics).
    env = {k: v for k, v in throughput_env.items() if k != "INTERVIEWER_INDEX_DIR"}
    done = interviewer(
        "judge", "floors", "--out", str(tmp_path / "floors.json"), env={**env, "INTERVIEWER_HOME": str(home)}
    )
    assert "10 floors (" in flat(done.stdout)
    fresh, shipped = load_shipped_floors(tmp_path / "floors.json"), load_shipped_floors()
    assert fresh is not None and shipped is not None
    assert len(fresh.floors) == 10 and fresh.floors.keys() <= shipped.floors.keys()
    assert_floors_match(fresh, shipped)


def test_judge_train_without_pairs_is_one_clear_line(env, tmp_path):
    shutil.copytree(ROOT / "corpus", tmp_path / "home" / "corpus")
    shutil.copytree(ROOT / "rubrics", tmp_path / "home" / "rubrics")
    done = interviewer(
        "judge",
        "train",
        "--out",
        str(tmp_path / "w"),
        env={**env, "INTERVIEWER_HOME": str(tmp_path / "home")},
        code=2,
    )
    assert "no authored pairs" in done.stderr and not (tmp_path / "w").exists()


def test_judge_train_without_the_public_sets_never_replaces_the_shipped_judge(env, tmp_path):
    """Without ../shared/benchmarks the recipe would train from the pairs alone (a far worse judge on
    SemEval and SAF): over the shipped weights it is refused, before any training, saying what to do."""
    home = tmp_path / "home"
    for folder in ("corpus", "rubrics", "judge/pairs"):
        shutil.copytree(ROOT / folder, home / folder)
    shipped = ROOT / "interviewer" / "judge_model" / "judge.safetensors"
    before = shipped.stat().st_mtime_ns
    done = interviewer("judge", "train", env={**env, "INTERVIEWER_HOME": str(home)}, code=2)
    message = flat(done.stderr)
    assert "no public sets" in message and "--benchmarks DIR" in message and "--out DIR" in message
    assert "Traceback" not in done.stderr and shipped.stat().st_mtime_ns == before


def test_a_judge_train_sweep_never_replaces_the_shipped_judge(env, tmp_path):
    """A sweep, another seed or a GPU trains another judge than the shipped one: over the shipped
    weights it would leave their calibration, floors and baseline describing a judge that is gone.
    Refused before training, naming what was asked. The home has no pairs, so were the refusal ever
    lost these runs would stop at "no authored pairs" rather than train over the shipped judge."""
    home = tmp_path / "home"
    for folder in ("corpus", "rubrics"):
        shutil.copytree(ROOT / folder, home / folder)
    shipped = ROOT / "interviewer" / "judge_model"
    before = (shipped / "judge.safetensors").stat().st_mtime_ns
    asked = {
        ("--reasoned-affirmations",): "--reasoned-affirmations",
        ("--misconception-readings",): "--misconception-readings",
        ("--whole-recipe", "--composed", "--lr", "0.0001"): "--lr 0.0001 --composed --whole-recipe",
        ("--seed", "14"): "--seed 14",
        ("--hold-out-every", "0"): "--hold-out-every 0",
        ("--no-reasoned-denials", "--out", "interviewer/judge_model"): "--no-reasoned-denials",
        (
            "--out",
            str(ROOT / "interviewer" / "judge_model_mpnet"),
        ): "--base minilm (that folder holds the mpnet judge)",
    }
    for args, named in asked.items():
        done = interviewer("judge", "train", *args, env={**env, "INTERVIEWER_HOME": str(home)}, code=2)
        message = flat(done.stderr)
        assert f"{named}: not the shipped judge" in message and "--out DIR" in message, message
        assert "Traceback" not in done.stderr and "no authored pairs" not in message
    assert (shipped / "judge.safetensors").stat().st_mtime_ns == before


def test_only_the_repositorys_files_make_the_shipped_judge(env, tmp_path):
    """The shipped recipe over the shipped judge, trained or averaged from another home's rubrics and
    pairs, or from public sets other than the shipped judge records, would be another judge: refused
    before any training or reading of parts, naming which."""
    fake = tmp_path / "benchmarks"
    (fake / "semeval2013").mkdir(parents=True)
    (fake / "semeval2013" / "semeval2013.csv").write_text("id,answer\n1,x\n", encoding="utf-8")
    shipped = ROOT / "interviewer" / "judge_model"
    before = (shipped / "judge.safetensors").stat().st_mtime_ns
    parts = tmp_path / "parts"
    parts.mkdir()
    soup = ("judge", "soup", "--parts", str(parts), "--shares", "0.6,0.4", "--benchmarks", str(fake))
    for command in (("judge", "train", "--benchmarks", str(fake)), soup):
        done = interviewer(*command, env=env, code=2)
        message = flat(done.stderr)
        assert f"public sets {fake}: " in message and "semeval2013/semeval2013.csv (changed)" in message
        assert "saf_communication_networks_english.csv (not found)" in message
        assert (
            "not the shipped judge" in message and "--out DIR" in message and "Traceback" not in done.stderr
        )
    home = tmp_path / "home"
    for folder in ("corpus", "rubrics", "judge"):
        shutil.copytree(ROOT / folder, home / folder)
    for command in (("judge", "train", "--benchmarks", str(fake)), soup):
        done = interviewer(*command, env={**env, "INTERVIEWER_HOME": str(home)}, code=2)
        message = flat(done.stderr)
        assert f"{home} (INTERVIEWER_HOME): the rubrics and pairs of another folder than {ROOT}" in message
        assert "not the shipped judge" in message and "Traceback" not in done.stderr
    assert (shipped / "judge.safetensors").stat().st_mtime_ns == before


def test_a_soup_without_public_sets_is_not_the_shipped_judge():
    """`judge train` refuses that before this check; `judge soup` of parts trained without them would
    otherwise pass (the parts match the no public files they were trained on)."""
    from interviewer.grading.judge import shipped_weights_dir
    from interviewer.surfaces.cli import _unlike_shipped_sources

    said = _unlike_shipped_sources(Workspace(ROOT), shipped_weights_dir(), None)
    assert said is not None and said.startswith("public sets (none found): ")
    assert "benchmarks/semeval2013/semeval2013.csv (not found)" in said


def test_the_mpnet_judge_is_replaced_only_by_bf16_trained_with_amx(mpnet_base, env, tmp_path):
    """Its recipe trains under bf16: emulated, or on other kernels, it makes other weights."""
    from interviewer.grading.judge import amx_bf16

    home = tmp_path / "home"
    for folder in ("corpus", "rubrics"):
        shutil.copytree(ROOT / folder, home / folder)
    run_env = {**env, "INTERVIEWER_HOME": str(home)}
    done = interviewer("judge", "train", "--base", "mpnet", env=run_env, code=2)
    message = flat(done.stderr)
    if amx_bf16():  # the shipped recipe on a CPU that trains it: it stops only for want of pairs
        assert "no authored pairs" in message, message
    else:
        assert "bf16 on this CPU, which has no AMX" in message and "--out DIR" in message, message
        assert "no authored pairs" not in message
    assert "Traceback" not in done.stderr


def test_judge_train_keep_parts_on_a_file_is_one_clear_line_before_training(env, tmp_path):
    taken = tmp_path / "parts.txt"
    taken.write_text("not a folder", encoding="utf-8")
    out = tmp_path / "w"
    done = interviewer("judge", "train", "--out", str(out), "--keep-parts", str(taken), env=env, code=2)
    assert "--keep-parts" in done.stderr and "not a folder" in done.stderr
    assert "Traceback" not in done.stderr and not out.exists()


def test_judge_soup_says_what_is_wrong_with_its_parts_or_shares_in_one_line(env, tmp_path):
    out, parts = tmp_path / "w", tmp_path / "parts"

    def soup(shares: str, folder: Path = parts):
        args = ("judge", "soup", "--parts", str(folder), "--shares", shares, "--out", str(out))
        done = interviewer(*args, env=env, code=2)
        assert "Traceback" not in done.stderr and not out.exists()
        return done.stderr

    missing = soup("0.6,0.4", tmp_path / "none")
    assert "--parts" in missing and "judge train --keep-parts" in missing
    parts.mkdir()
    assert "no judge-N.safetensors" in soup("1")
    (parts / "judge-1.safetensors").write_bytes(b"not a tensor file")
    wrong = soup("0.6;0.4")
    assert "--shares 0.6;0.4" in wrong and "separated by commas" in wrong
    assert "shares nan for the 1 judges" in soup("nan")
    assert "judge-1.safetensors: not a judge kept by" in soup("1")
    (parts / "judge-3.safetensors").write_bytes(b"a later judge")
    assert "judge-2.safetensors is missing" in soup("1,1")


def test_eval_json_prints_the_figures_on_stdout_and_documented_exit_codes(env, tmp_path):
    dataset = tmp_path / "labels.csv"
    dataset.write_text(
        "question_id,answer,grade\n"
        f'000-12,"{STRONG}",5\n'
        "000-12,The gradients get small so training is slow.,2\n"
        "000-12,,0\n",
        encoding="utf-8",
    )
    done = interviewer("eval", str(dataset), "--json", "--no-semeval", "--no-saf", env=env, code=0)
    figures = json.loads(done.stdout)  # stdout is the JSON alone; the tables went to stderr
    assert figures["answers"] == 3 and figures["dataset"] == str(dataset) and figures["ok"] is True
    assert figures["gate"]["status"] == "not gated" and "spearman" in figures["metrics"]
    assert "spearman" in done.stderr
    bad = interviewer("eval", "--json", "--semeval-splits", "most", env=env, code=2)
    assert bad.stdout == "" and "unknown --semeval-splits 'most'" in bad.stderr
    usage = interviewer("eval", "--no-such-option", env=env, code=2)
    assert "No such option" in usage.stderr


def _after_cli(args: list[str], setup: str, report: str) -> str:
    """Runs the CLI's main() with args in a fresh interpreter (after `setup`), then `report`; returns
    the last line it printed."""
    probe = (
        f"import os, sys\n{setup}"
        f"sys.argv = ['interviewer', *{args!r}]\n"
        "from interviewer.surfaces.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"{report}"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.splitlines()[-1]


def test_help_imports_neither_the_models_nor_rich():
    report = (
        "heavy = ['numpy', 'torch', 'sentence_transformers', 'rich', 'pydantic', 'interviewer.grading']\n"
        "print('loaded:' + ','.join(m for m in heavy if m in sys.modules))\n"
    )
    assert _after_cli(["--help"], "", report) == "loaded:"


def test_questions_does_not_scan_installed_packages_for_pydantic_plugins():
    # The scan (the metadata of every installed distribution) cost ~10 ms of start-up.
    setup = "os.environ.pop('PYDANTIC_DISABLE_PLUGINS', None)\n"
    report = "from pydantic.plugin import _loader\nprint('scanned:', _loader._plugins is not None)\n"
    assert _after_cli(["questions", "--json"], setup, report) == "scanned: False"


def test_grade_precision_is_checked_and_a_run_in_another_precision_grades_again(throughput_env, tmp_path):
    env = throughput_env
    from interviewer.grading.judge import native_bf16

    source = tmp_path / "answers.jsonl"
    source.write_text(json.dumps({"id": "s", "question_id": "000-12", "answer": STRONG}) + "\n")
    done = interviewer("grade", str(source), "--precision", "fp16", "--device", "cpu", env=env, code=2)
    assert flat(done.stderr) == "error: unknown precision 'fp16': use auto, fp32 or bf16"
    output = tmp_path / "graded.jsonl"
    on_cpu = ("-o", str(output), "--device", "cpu")  # bf16 is read on a CPU only (a GPU host has both)
    interviewer("grade", str(source), *on_cpu, "--precision", "fp32", env=env)
    again = interviewer("grade", str(source), *on_cpu, "--precision", "fp32", env=env)
    assert "Resuming: 1 row already in" in flat(again.stderr)
    if native_bf16():  # bf16 reads may move a score by 0.1: its fingerprint differs, so it grades again
        other = interviewer("grade", str(source), *on_cpu, "--precision", "bf16", env=env)
        assert "already in" not in flat(other.stderr) and "Graded 1 answer" in flat(other.stderr)


def test_grade_device_is_checked_before_any_row_is_read(env, tmp_path):
    source = tmp_path / "answers.jsonl"
    source.write_text(json.dumps({"id": "s", "question_id": "000-12", "answer": STRONG}) + "\n")
    done = interviewer("grade", str(source), "--device", "tpu", env=env, code=2)
    assert flat(done.stderr) == "error: unknown device 'tpu': use auto, cpu or cuda"
    import torch

    if not torch.cuda.is_available():
        done = interviewer("grade", str(source), "--device", "cuda", env=env, code=2)
        assert "sees no CUDA GPU here; use --device cpu or auto" in flat(done.stderr)
    done = interviewer("grade", str(source), "--device", "cpu", env=env)
    assert json.loads(done.stdout)["band"] == "strong"


def test_grade_with_examples_and_an_examples_file_without_grades(env, tmp_path):
    question = "Why does a battery get warm when it is short-circuited?"
    reference = (
        "A large current flows through the battery's internal resistance, which turns energy into heat."
    )
    answers = tmp_path / "answers.jsonl"
    answers.write_text(
        json.dumps({"id": "a1", "question": question, "reference_answer": reference, "answer": "Heat."})
        + "\n"
    )
    examples = tmp_path / "examples.csv"
    examples.write_text(f'id,question,reference_answer,answer,grade\ne1,"{question}","{reference}",Heat.,4\n')
    done = interviewer("grade", str(answers), "--examples", str(examples), env=env)
    [record] = [json.loads(line) for line in done.stdout.splitlines()]
    assert "Graded examples: the closest of 1 (e1" in record["explanation"]
    assert "Graded examples: 1 answer for 1 question" in flat(done.stderr)
    ungraded = tmp_path / "ungraded.csv"
    ungraded.write_text(f'id,question,reference_answer,answer\ne1,"{question}","{reference}",Heat.\n')
    done = interviewer("grade", str(answers), "--examples", str(ungraded), env=env, code=2)
    assert flat(done.stderr).startswith(f"error: {ungraded}") and "grade" in flat(done.stderr)
    assert done.stdout == ""
