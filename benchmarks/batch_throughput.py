"""Batch grading throughput: `interviewer grade` against the cheapest model-based grader, same rows.

    python benchmarks/batch_throughput.py                 # 1,000 rows: both rates and the ratio
    python benchmarks/batch_throughput.py --sizes 1000,10000,100000   # plus a scaling table

Rows are synthetic but shaped like real use: most carry their own `question` + `reference_answer`
(an ad-hoc rubric, several answers per question), the rest a bank `question_id`; answers are
drawn from the rubrics' key points, misconceptions and filler, so they are mostly distinct.

Each measurement is a whole process (model load included) with cold caches (a fresh
INTERVIEWER_CACHE_DIR), timed from start to exit; peak RSS is that process's own (wait4).

- naive: embed each distinct answer and each distinct reference once with the same MiniLM, in large
  batches, and take the cosine. No rubric, no judge: the floor any model-based grader pays.
- grade: `python -m interviewer grade ROWS -o OUT.jsonl` (the judge included when trained).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILLER = [
    "I think this comes up a lot in practice.",
    "In my last project we ran into this while training a classifier.",
    "Honestly I am not completely sure about the details here.",
    "It depends on the data and the model size.",
    "This is one of the standard interview topics.",
]


def write_rows(path: Path, n: int, seed: int = 7, adhoc_share: float = 0.78) -> None:
    """n synthetic rows as JSONL, written as they are made (never held in memory)."""
    sys.path.insert(0, str(ROOT))
    from interviewer.workspace import Workspace

    rubrics = [r for r in Workspace(ROOT).rubrics() if r.model_answer and r.key_points]
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            rubric = rubrics[rng.randrange(len(rubrics))]
            points = [k.text for k in rubric.key_points]
            chosen = rng.sample(points, rng.randint(0, len(points)))
            if rubric.misconceptions and rng.random() < 0.2:
                chosen.append(rng.choice(rubric.misconceptions).claim)
            if rng.random() < 0.5:
                chosen.append(rng.choice(FILLER))
            rng.shuffle(chosen)
            answer = " ".join(c.rstrip(".") + "." for c in chosen)
            row: dict = {"id": f"r{i}", "answer": answer}
            if rng.random() < adhoc_share:
                row.update(question=rubric.question, reference_answer=rubric.model_answer)
            else:
                row["question_id"] = rubric.question_id
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def naive_main(path: Path) -> None:
    """The naive cosine grader (run in its own process by `measure`)."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from interviewer.grading.embedding import Embedder
    from interviewer.workspace import Workspace

    references = {r.question_id: r.model_answer or r.question for r in Workspace(ROOT).rubrics()}
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    pairs = [(r["answer"], r.get("reference_answer") or references[r["question_id"]]) for r in rows]
    texts = sorted({t for pair in pairs for t in pair}, key=len)
    embedder = Embedder(batch_size=128, cache_size=0)
    vectors = dict(zip(texts, embedder.encode(texts), strict=True))
    scores = [float(np.dot(vectors[a], vectors[b])) for a, b in pairs]
    print(json.dumps({"rows": len(scores), "mean": sum(scores) / len(scores)}))


def measure(
    command: list[str], env: dict[str, str], max_seconds: float | None = None
) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MiB) and exit code of one child process. Past max_seconds the child
    gets Ctrl-C (SIGINT): `grade` then stops cleanly with what it wrote so far (rows are streamed,
    so the rate over those rows is the rate of the whole run)."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    interrupted = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG if max_seconds else 0)
        if pid:
            break
        if not interrupted and time.perf_counter() - started > max_seconds:
            proc.send_signal(signal.SIGINT)
            interrupted = True
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    tail = proc.stderr.read().decode(errors="replace").strip().splitlines()[-1:] if proc.stderr else []
    if proc.returncode not in (0, 1) and not interrupted:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}): {tail}")
    return seconds, usage.ru_maxrss / 1024, proc.returncode


def fresh_env(tmp: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    cache = tempfile.mkdtemp(dir=tmp, prefix="cache-")
    # ROOT first, the caller's PYTHONPATH kept (packages installed beside the interpreter, say).
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "INTERVIEWER_CACHE_DIR": cache, "PYTHONPATH": path, **(extra or {})}


def count_rows(out: Path) -> int:
    if not out.exists():  # grade exits 1 on skipped rows, and so does a crash: only a crash writes nothing
        raise SystemExit(f"`interviewer grade` wrote no {out.name}: run it by hand to see why")
    return sum(1 for _ in out.open(encoding="utf-8"))


def grade_command(rows: Path, out: Path, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "interviewer", "grade", str(rows), "-o", str(out), *extra]


def device() -> str:
    """What `grade` runs on here (auto: a CUDA GPU when torch sees one)."""
    sys.path.insert(0, str(ROOT))
    from interviewer.grading.embedding import is_gpu, resolve_device

    chosen = resolve_device(os.environ.get("INTERVIEWER_DEVICE"))
    if is_gpu(chosen):
        import torch

        return f"device {chosen} ({torch.cuda.get_device_name()})"
    return "device cpu"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--rows", type=int, default=1000, help="rows for the ratio (default 1000)")
    parser.add_argument("--sizes", default="", help="comma-separated row counts for the scaling table")
    parser.add_argument("--grade-args", default="", help="extra arguments for `interviewer grade`")
    parser.add_argument(
        "--max-seconds",
        type=float,
        help="stop each scaling run after this long (Ctrl-C); report its rate so far",
    )
    parser.add_argument("--naive", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.naive:
        naive_main(args.naive)
        return
    extra = args.grade_args.split()
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as folder:
        tmp = Path(folder)
        rows = tmp / f"rows-{args.rows}.jsonl"
        write_rows(rows, args.rows)
        naive_s, naive_rss, _ = measure([sys.executable, __file__, "--naive", str(rows)], fresh_env(tmp))
        grade_s, grade_rss, _ = measure(grade_command(rows, tmp / "out.jsonl", extra), fresh_env(tmp))
        graded = count_rows(tmp / "out.jsonl")
        naive_rate, grade_rate = args.rows / naive_s, graded / grade_s
        load = os.getloadavg()[0]
        print(f"rows: {args.rows} ({graded} graded), {os.cpu_count()} CPUs, load {load:.1f}, {device()}")
        print(f"naive cosine grader: {naive_rate:7.1f} answers/s ({naive_s:.1f} s, {naive_rss:.0f} MiB)")
        print(f"interviewer grade:   {grade_rate:7.1f} answers/s ({grade_s:.1f} s, {grade_rss:.0f} MiB)")
        print(f"ratio: {grade_rate / naive_rate:.2f} (goal >= 0.30)")
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
        if sizes:
            print("\n| rows | seconds | answers/s | peak RSS (MiB) |\n|---:|---:|---:|---:|")
        for size in sizes:
            path = tmp / f"rows-{size}.jsonl"
            write_rows(path, size)
            out = tmp / f"out-{size}.jsonl"
            seconds, rss, _ = measure(grade_command(path, out, extra), fresh_env(tmp), args.max_seconds)
            done = count_rows(out)
            stopped = f" (stopped after {done:,} rows)" if done < size else ""
            print(f"| {size:,}{stopped} | {seconds:.0f} | {done / seconds:.1f} | {rss:.0f} |", flush=True)
            path.unlink()
            out.unlink()


if __name__ == "__main__":
    main()
