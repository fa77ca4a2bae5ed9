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


def session_latencies(backend: str, turns: int, folder: Path, think: float = 0.0) -> list[float]:
    import pexpect

    sys.path.insert(0, str(ROOT))
    import yaml

    from interviewer.workspace import Workspace

    rubrics = Workspace(ROOT).rubrics()
    # A faithful paraphrase of the model answer, in other words: the grader reads each question's
    # model answer ahead (its judge floor), which must not make the answer itself already read.
    probes = yaml.safe_load((ROOT / "evals" / "validity.yaml").read_text(encoding="utf-8"))
    paraphrases = {p["question_id"]: p["paraphrase"] for p in probes}
    data = Path(tempfile.mkdtemp(dir=folder, prefix=f"{backend}-"))
    env = {k: v for k, v in os.environ.items() if k not in ("INTERVIEWER_CRITIC", "OPENAI_API_KEY")}
    env.update(
        INTERVIEWER_DATA_DIR=str(data),
        INTERVIEWER_CACHE_DIR=str(data / "cache"),
        INTERVIEWER_HOME=str(ROOT),
        INTERVIEWER_BACKEND=backend,
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="practice-bench-") as folder:
        results = {b: session_latencies(b, args.turns, Path(folder), args.think) for b in ("torch", "numpy")}
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} CPUs, load {load:.1f}; seconds from sending an answer to its feedback")
    print("| models | first answer | later answers (max) |\n|---|---:|---:|")
    for backend, seconds in results.items():
        print(f"| {backend} | {seconds[0]:.2f} | {max(seconds[1:], default=0):.2f} |")
    first = results["numpy"][0] / results["torch"][0]
    print(f"first feedback, numpy / torch: {first:.2f} (goals: first <= 2.0 s, later <= 1.5 s)")


if __name__ == "__main__":
    main()
