"""Practice latency: seconds from sending an answer to seeing its feedback, in a real terminal.

    python benchmarks/practice_latency.py [--turns 3] [--think SECONDS]

`interviewer practice` runs in a pty with cold caches, as a candidate meets it. The first answer is
sent the moment the first question is on screen (the worst case: nothing had time to load while the
candidate read and typed), then each later one as soon as its question appears; the answer is a
faithful paraphrase of the question's model answer (evals/validity.yaml), on one line. `--think S`
waits S seconds before each answer instead, as a candidate reading and typing would (the grader
prepares each question meanwhile). The same session runs twice in this run: with the models in
numpy (the default on a CPU) and with INTERVIEWER_BACKEND=torch (the baseline: torch and
transformers imported at session start), and the ratio is printed. Goals: the first feedback within
2 s, every later one within 1.5 s.

    python benchmarks/practice_latency.py --judge mpnet [--turns 5 --think 20]

runs the mpnet judge's session (`make mpnet` first) against the default judge's (the baseline).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROMPT = r"\n(?:\x1b\[[0-9;?]*[A-Za-z]|\r)*> "
FEEDBACK = [r"Score \d\.\d / 5", "Follow-up"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\r")


def session_latencies(
    backend: str, turns: int, folder: Path, think: float = 0.0, judge: str = "minilm"
) -> list[float]:
    import pexpect

    sys.path.insert(0, str(ROOT))
    import yaml

    from interviewer.grading.judge import mpnet_path
    from interviewer.workspace import Workspace

    rubrics = Workspace(ROOT).rubrics()
    # A faithful paraphrase of the model answer, in other words: the grader reads each question's
    # model answer ahead (its judge floor), which must not make the answer itself already read.
    probes = yaml.safe_load((ROOT / "evals" / "validity.yaml").read_text(encoding="utf-8"))
    paraphrases = {p["question_id"]: p["paraphrase"] for p in probes}
    data = Path(tempfile.mkdtemp(dir=folder, prefix=f"{backend}-{judge}-"))
    env = {k: v for k, v in os.environ.items() if k not in ("INTERVIEWER_CRITIC", "OPENAI_API_KEY")}
    env.update(
        INTERVIEWER_DATA_DIR=str(data),
        INTERVIEWER_CACHE_DIR=str(data / "cache"),
        INTERVIEWER_HOME=str(ROOT),
        INTERVIEWER_BACKEND=backend,
        INTERVIEWER_JUDGE=judge,
        # The mpnet base unpacked once per machine, not per session: where this process found it.
        **({"INTERVIEWER_MPNET_DIR": str(mpnet_path())} if judge == "mpnet" else {}),
        PYTHONPATH=str(ROOT),
        COLUMNS="220",
        LINES="60",
    )
    child = pexpect.spawn(
        sys.executable,
        ["-m", "interviewer", "practice", "--seed", "3", "--count", str(turns), "--no-review"],
        cwd=str(ROOT),
        env=env,
        encoding="utf-8",
        codec_errors="replace",
        dimensions=(60, 220),
        timeout=300,
    )
    latencies = []
    for turn in range(1, turns + 1):
        child.expect(rf"Question {turn} of {turns}")
        child.expect(PROMPT)
        shown = ANSI.sub("", child.before)
        shown = " ".join(shown.split())
        asked = [(r, t) for r in rubrics for t in {r.question, r.prompt} if " ".join(t.split()) in shown]
        rubric = max(asked, key=lambda pair: len(pair[1]))[0]
        time.sleep(think)
        child.send(" ".join(paraphrases[rubric.question_id].split()) + "\r\r\r")
        sent = time.perf_counter()
        while child.expect(FEEDBACK) == 1:
            if len(latencies) < turn:
                latencies.append(time.perf_counter() - sent)
            child.expect(PROMPT)
            child.send("skip\r")
        if len(latencies) < turn:
            latencies.append(time.perf_counter() - sent)
        child.expect("Press Enter")
        child.send("\r")
    child.expect("Summary")
    child.close(force=True)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument(
        "--think", type=float, default=0.0, help="seconds the candidate takes before each answer (default 0)"
    )
    parser.add_argument(
        "--judge",
        choices=("minilm", "mpnet"),
        default="minilm",
        help="mpnet: the mpnet judge's session against the default judge's (models in numpy); "
        "minilm: the default judge with models in numpy against torch",
    )
    args = parser.parse_args()
    # (label, backend, judge): the baseline first.
    if args.judge == "mpnet":
        runs = [("minilm judge", "numpy", "minilm"), ("mpnet judge", "numpy", "mpnet")]
    else:
        runs = [("torch", "torch", "minilm"), ("numpy", "numpy", "minilm")]
    with tempfile.TemporaryDirectory(prefix="practice-bench-") as folder:
        results = {
            label: session_latencies(backend, args.turns, Path(folder), args.think, judge)
            for label, backend, judge in runs
        }
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs, load {load:.1f}; seconds from sending an answer to its feedback")
    print("| models | first answer | later answers (median) | later answers (max) |\n|---|---:|---:|---:|")
    for label, seconds in results.items():
        later = sorted(seconds[1:]) or [0.0]
        print(f"| {label} | {seconds[0]:.2f} | {later[len(later) // 2]:.2f} | {later[-1]:.2f} |")
    (base, *_), (new, *_) = runs
    first = results[new][0] / results[base][0]
    later = max(results[new][1:], default=0) / max(max(results[base][1:], default=0), 1e-9)
    print(
        f"{new} / {base}: first feedback {first:.2f}, later (max) {later:.2f} "
        "(goals: first <= 2.0 s, later <= 1.5 s)"
    )


if __name__ == "__main__":
    main()
