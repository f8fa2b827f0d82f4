"""Measure the shift to other handwriting and what a fine-tune does to it; write ``docs/shift.md``.

    python -m scripts.shift_figures [--data mnist.npz] [--minutes 3]   # measure, write both files
    python -m scripts.shift_figures --page                              # the page from the JSON only

Measures the shipped ``blind`` and ``conv`` models and the median filter on the UCI optical
digits framed like MNIST (:mod:`denoiser.digits.uci`) against MNIST's test digits at Gaussian
noise 0.5 (:func:`denoiser.results.shift.measure_shift`, the same noisy digits for every method),
then fine-tunes each model for ``--minutes`` on MNIST training digits plus two thirds of the UCI
digits (through :func:`denoiser.training.body.train_export_measure`, as the app's runs train) and
measures again on the third held out. The figures go to ``docs/eval-shift-uci.json`` with the CPU
they were measured on; ``docs/shift.md`` is written from that file (a test keeps them equal).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

import numpy as np

DOCS = Path(__file__).resolve().parents[1] / "docs"
RESULTS = DOCS / "eval-shift-uci.json"
PAGE = DOCS / "shift.md"
MODELS = {"blind": "blind", "conv": "gaussian"}  # shipped model -> its own training noise
HELD_OUT_SEED = 0  # the Train page's split (denoiser.teaching.handwriting.split_held_out)


def measure(data: str | None, minutes: float) -> dict:
    from denoiser import load_mnist, load_pretrained
    from denoiser.digits.noise import NoiseSpec
    from denoiser.digits.uci import UCI_CREDIT, load_uci_digits
    from denoiser.models.surgery import rebuild
    from denoiser.results.classical import CLASSICAL
    from denoiser.results.shift import measure_shift
    from denoiser.teaching.handwriting import split_held_out
    from denoiser.training.body import train_export_measure
    from harness.machine import describe_machine

    mnist, uci = load_mnist(data), load_uci_digits()
    train_idx, held_idx = split_held_out(len(uci.x_test), HELD_OUT_SEED)
    sets = {"UCI digits": uci.x_test, "MNIST test": mnist.x_test}
    held = {"UCI held out": uci.x_test[held_idx], "MNIST test": mnist.x_test}
    shipped = {name: load_pretrained(name) for name in MODELS}
    methods = {**{name: m.denoise for name, m in shipped.items()}, "median": CLASSICAL["median"]}
    before = measure_shift(methods, sets, "gaussian", 0.5)
    tuned = []
    mix = np.concatenate([mnist.x_train[:6000], uci.x_test[train_idx]])
    for name, noise in MODELS.items():
        start = shipped[name]
        config = start.config
        trained = train_export_measure(
            config, mix, start=lambda s=start, c=config: rebuild(s.model, c),
            noise=NoiseSpec(noise, 0.5), epochs=10_000, time_budget=minutes * 60, batch_size=128,
            validation_split=0.0, seed=0)
        print(f"{name}: fine-tuned {trained.result.epochs_run} epochs in {trained.result.seconds:.0f} s",
              file=sys.stderr)
        from denoiser.models.onnx_session import OnnxModel
        from denoiser.models.runtime import Denoiser

        after = Denoiser(trained.model, f"{name} fine-tuned", config, onnx=OnnxModel(trained.onnx))
        rows = measure_shift({name: start.denoise, f"{name}, fine-tuned": after.denoise}, held,
                             "gaussian", 0.5)
        tuned.append({"model": name, "epochs": trained.result.epochs_run,
                      "seconds": round(trained.result.seconds, 1), "rows": rows})
    return {"date": date.today().isoformat(), "cpu": describe_machine(), "credit": UCI_CREDIT,
            "noise": "gaussian 0.5", "mnist": mnist.description,
            "fine_tune": {"minutes": minutes, "digits": f"{6000:,} MNIST training digits and "
                          f"{len(train_idx):,} UCI digits (two thirds, seed {HELD_OUT_SEED})",
                          "held_out": f"{len(held_idx):,} UCI digits"},
            "before": before, "tuned": tuned}


def page(results: dict) -> str:
    from denoiser.results.shift import shift_markdown

    lines = [
        "# Other people's handwriting: the shift, and a fine-tune",
        "",
        "<!-- Written by `python -m scripts.shift_figures` from `docs/eval-shift-uci.json`; "
        "do not edit by hand. -->",
        "",
        "MNIST's digits were written by US census workers and students. How well do models trained "
        "on them clean someone else's? Here the other handwriting is the "
        f"{results['credit']}; in class it is the class's own digits (the Class digits source, "
        "Explore's shift table, the Learn page's eighth lesson and `python -m denoiser shift`).",
        "",
        f"Measured {results['date']} on {results['cpu']}. Noise: {results['noise']}, the same "
        "noisy digits for every method; mean ± standard deviation over the digits; *worst digits* "
        "are indices into the set, worst first.",
        "",
        "## Before: shipped models on both sets",
        "",
        shift_markdown(results["before"]),
        "",
        f"## After a fine-tune of {results['fine_tune']['minutes']:g} minutes",
        "",
        f"Each model trained on from its shipped weights on {results['fine_tune']['digits']}, "
        f"with its own training noise; measured on the {results['fine_tune']['held_out']} it never "
        "saw and on MNIST's test digits (has it forgotten MNIST?).",
        "",
    ]
    for tuned in results["tuned"]:
        lines += [f"**{tuned['model']}** ({tuned['epochs']} epochs, {tuned['seconds']:g} s):", "",
                  shift_markdown(tuned["rows"]), ""]
    lines += ["Rerun: `python -m scripts.shift_figures --data mnist.npz` (needs full MNIST; "
              "`--minutes` sets the fine-tune)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="Keras-layout mnist.npz (default: as load_mnist finds it)")
    parser.add_argument("--minutes", type=float, default=3.0, help="fine-tune time per model")
    parser.add_argument("--page", action="store_true", help="only write the page from the JSON")
    args = parser.parse_args(argv)
    from denoiser.models.files import save_bytes

    if not args.page:
        results = measure(args.data, args.minutes)
        save_bytes((json.dumps(results, indent=1) + "\n").encode(), RESULTS)
    save_bytes(page(json.loads(RESULTS.read_text())).encode(), PAGE)
    print(f"wrote {PAGE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
