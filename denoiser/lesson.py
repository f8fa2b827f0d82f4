"""The Learn view's lesson: Markdown whose figures are read from the files that measured them.

The template is ``assets/lesson.md``; each ``{name:.1f}`` placeholder is filled from the
shipped manifest (a model's own measured PSNR and SSIM) or from the evaluation tables in
``docs/`` (made by ``scripts/make_figures.sh``), so retraining a model or rerunning an
evaluation updates the lesson. A figure that cannot be read shows as "(not measured)".
"""

from __future__ import annotations

import json
from pathlib import Path

from .modelfiles import read_manifest

TEMPLATE = Path(__file__).resolve().parent / "assets" / "lesson.md"
DOCS_DIR = Path(__file__).resolve().parent.parent / "docs"
METRIC = "gaussian@0.5"


class _NotMeasured:
    """Stands in for a figure whose file is missing: formats as words, whatever the format spec."""

    def __format__(self, spec: str) -> str:
        return "(not measured)"


def _table_figure(path: Path, method: str, metric: str) -> float | None:
    """``metric`` of ``method`` at Gaussian 0.5 in an evaluation table (docs/eval-*.json)."""
    try:
        rows = json.loads(path.read_text())["results"]
        return next(float(r[metric]) for r in rows
                    if r["method"] == method and r["kind"] == "gaussian" and r["amount"] == 0.5)
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None


def lesson_figures(docs_dir: str | Path | None = None, models_dir: str | Path | None = None) -> dict:
    """The lesson's figures by placeholder name (None where a file lacks one)."""
    docs = Path(docs_dir) if docs_dir is not None else DOCS_DIR
    reference, table = docs / "eval-reference.json", docs / "eval-gaussian.json"
    try:
        entry = read_manifest(models_dir)["models"].get("seed-dense", {})
        measured = entry.get("metrics", {}).get(METRIC, {})
    except (ValueError, AttributeError):
        measured = {}
    return {
        "adadelta_psnr": _table_figure(reference, "tutorial-adadelta", "psnr"),
        "adadelta_ssim": _table_figure(reference, "tutorial-adadelta", "ssim"),
        "noisy_psnr": _table_figure(reference, "noisy input", "psnr"),
        "median_psnr": _table_figure(table, "filter: median", "psnr"),
        "seed_dense_psnr": measured.get("psnr"),
        "seed_dense_ssim": measured.get("ssim"),
    }


def lesson_markdown(docs_dir: str | Path | None = None, models_dir: str | Path | None = None) -> str:
    """The lesson as Markdown, its figures filled in from the measurement files."""
    figures = {name: _NotMeasured() if value is None else value
               for name, value in lesson_figures(docs_dir, models_dir).items()}
    return TEMPLATE.read_text().format(**figures)
