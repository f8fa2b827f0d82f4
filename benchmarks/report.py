"""Write ``docs/performance.md`` from the result files in ``benchmarks/results/``.

Usage: python -m benchmarks.report [--check]

Every figure on that page is read from a file here, next to the command that made it and the CPU
it ran on; ``--check`` exits 1 when the page differs from what the files say (a test runs it),
so a figure cannot drift from its source. To update a figure, rerun its command with
``--save`` set to :func:`benchmarks.result_path` (``scripts/make_figures.sh`` does), then this.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks import RESULTS

PAGE = Path(__file__).resolve().parents[1] / "docs" / "performance.md"
KINDS = {"avx512": "AVX-512", "avx2": "AVX2 only",
         "avx2cap": "AVX-512 held to AVX2 (a stand-in: an AVX2 CPU's kernels, not its speed)",
         "other": "neither AVX-512 nor AVX2"}

#: Each benchmark: the command that writes its file, and what it measures.
BENCHMARKS: dict[str, tuple[str, str]] = {
    "class_load": ("python -m benchmarks.class_load --save FILE",
                   "30 browserless students on the Denoise page (slider 7 in 10 actions; New sample, New "
                   "noise, a model change) while 4 others train, 120 s, after one student alone for 120 s "
                   "doing the same (the baseline); per action p50/p95 alone and in the class"),
    "class_load_rush": ("python -m benchmarks.class_load --students 0 --trainers 30 --press-within 10 "
                        "--train-epochs 1 --train-digits 1000 --save FILE",
                        "30 students pressing Start training within 10 s: memory, runs finished, "
                        "places shown"),
    "load_test": ("python -m benchmarks.load_test",
                  "8 Chromium pages (slider 4 in 5 actions, New sample) while one trains, 60 s, after one "
                  "page alone for 40 s doing the same; 3 runs, medians"),
    "bench_app": ("python -m benchmarks.bench_app",
                  "a slider move and a cold start in Chromium against a bare Streamlit page"),
    "bench_browser": ("python -m benchmarks.bench_browser",
                      "the floor: a bare page with the app's controls and no server work, against the app"),
    "bench_move": ("python -m benchmarks.bench_move", "the server's work per move and per change of digits"),
    "bench_server_cpu": ("python -m benchmarks.bench_server_cpu", "the server's CPU per move, one student"),
    "bench_frontier": ("python -m benchmarks.bench_frontier --int8 --save FILE",
                       "ms for 8 digits against dB for the candidate default models"),
    "bench_denoise": ("python -m benchmarks.bench_denoise --model blind",
                      "denoise() on the 10,000 test digits against bare Keras"),
    "bench_cores_after_rest": ("python -m benchmarks.research.bench_cores_after_rest",
                               "the second core's use back to back and after a rest"),
    "bench_spin": ("python -m benchmarks.research.bench_spin",
                   "ONNX Runtime's sleeping against spinning threads"),
    "bench_install": ("python -m benchmarks.bench_install --variant cpu|full",
                      "a fresh virtualenv with the README's install command: time and size"),
    "bench_train_precision": ("python -m benchmarks.bench_train_precision",
                              "a training step in float32 against mixed bfloat16"),
    "photo_corpus": ("python -m benchmarks.photo_corpus --save FILE",
                     "generated phone photos of handwriting (thin pen, marker, ruled paper, shadow, uneven "
                     "light, JPEG) against the same digits rendered cleanly: ink overlap once framed, dB "
                     "lost when the conv model cleans them at Gaussian 0.5, ms to frame a photo"),
    "bench_first_point": ("python -m benchmarks.bench_first_point --save FILE",
                          "Start training → the first point of the curve, each run starting its own "
                          "process (cold) against the spare process (TensorFlow imported ahead) and the "
                          "spare with the run's model primed (built and traced ahead); the avx2cap file: "
                          "`--onednn-isa AVX2 --save benchmarks/results/bench_first_point-avx2cap.json`"),
    "bench_first_point_worker": ("python -m benchmarks.bench_first_point_worker --save FILE",
                                 "Start training → the first point of the curve on a Redis worker "
                                 "(TensorFlow imported), a model no page announced against one the "
                                 "idle worker primed"),
    "bench_start_browser": ("python -m benchmarks.bench_start_browser --save FILE",
                            "what a student sees after Start training in Chromium (the browser on the "
                            "same 2 cores as the server, unlike a class): the click to the progress "
                            "bar's first move and to the loss chart, on the page's clock, without a "
                            "spare and with the primed spare; the avx2cap file: `--onednn-isa AVX2 "
                            "--save benchmarks/results/bench_start_browser-avx2cap.json`"),
    "bench_worker": ("python -m benchmarks.bench_worker --save FILE",
                     "training on an RQ worker against training in the server's own process"),
}


def _rows(value: object, path: str = "") -> list[tuple[str, str]]:
    """(figure, value) pairs of a result, nested keys joined with " · "; long lists counted."""
    if isinstance(value, dict):
        return [row for key, item in value.items() if key != "machine"
                for row in _rows(item, f"{path} · {key}" if path else str(key))]
    if isinstance(value, list):
        if len(value) <= 6 and all(not isinstance(v, (dict, list)) for v in value):
            return [(path, ", ".join(json.dumps(v) for v in value))]
        if all(isinstance(v, dict) for v in value) and len(value) <= 4:
            return [row for i, item in enumerate(value, 1) for row in _rows(item, f"{path} · {i}")]
        return [(path, f"({len(value)} values in the file)")]
    text = json.dumps(value) if not isinstance(value, str) else value
    return [(path, text.replace("|", "\\|")[:160])]


def _machine(result: object) -> str:
    if isinstance(result, dict):
        if isinstance(result.get("machine"), str):
            return result["machine"]
        for item in result.values():
            if isinstance(item, dict) and isinstance(item.get("machine"), str):
                return item["machine"]
    return "not recorded"


def render(results: Path = RESULTS) -> str:
    """The page, from every ``NAME-KIND.json`` in ``results``."""
    lines = ["# Performance", "",
             "Generated by `python -m benchmarks.report` from the files in "
             "[benchmarks/results/](../benchmarks/results/): one file per benchmark per kind of CPU, "
             "the latest run (git keeps the earlier ones; [history.md](history.md) tells what changed "
             "between them). Every figure names its CPU; latencies are medians unless the figure says "
             "p95; ratios divide figures measured the same way. Do not edit this page by hand.", ""]
    files = sorted(results.glob("*-*.json"))
    names = sorted({f.stem.rsplit("-", 1)[0] for f in files},
                   key=lambda n: (list(BENCHMARKS).index(n) if n in BENCHMARKS else len(BENCHMARKS), n))
    for name in names:
        command, what = BENCHMARKS.get(name, (f"python -m benchmarks.{name}", ""))
        lines += [f"## {name}", "", (f"{what}. " if what else "") + f"Command: `{command}`.", ""]
        for kind in KINDS:
            path = results / f"{name}-{kind}.json"
            if not path.exists():
                continue
            result = json.loads(path.read_text())
            lines += [f"### {KINDS[kind]}: {_machine(result)}", "",
                      f"From [{path.name}](../benchmarks/results/{path.name}).", "",
                      "| figure | value |", "|---|---|"]
            lines += [f"| {key} | {value} |" for key, value in _rows(result)]
            lines.append("")
        missing = [KINDS[k] for k in ("avx512", "avx2") if not (results / f"{name}-{k}.json").exists()]
        if missing:
            lines += [f"Not measured yet on: {', '.join(missing)}.", ""]
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/performance.md is stale")
    args = parser.parse_args()
    page = render()
    if args.check:
        current = PAGE.read_text() if PAGE.exists() else ""
        if current != page:
            print(f"{PAGE} differs from benchmarks/results/: run python -m benchmarks.report",
                  file=sys.stderr)
            sys.exit(1)
        return
    PAGE.write_text(page)
    print(f"wrote {PAGE}", file=sys.stderr)


if __name__ == "__main__":
    main()
