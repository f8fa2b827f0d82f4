"""The Learn view's lesson: Markdown whose figures are read from the files that measured them.

The template is ``assets/lesson.md``; each ``{name:.1f}`` placeholder is filled from the
shipped manifest (a model's own measured PSNR and SSIM) or from ``assets/lesson_figures.json``,
the few evaluation figures the lesson quotes. That file ships inside the package (an installed
package has no ``docs/``) and is written from the evaluation tables in ``docs/`` (made by
``scripts/make_figures.sh``) by ``python -m denoiser.teaching.lesson``; a test keeps the two equal. A
figure that cannot be read shows as "(not measured)".
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from denoiser.models.files import read_manifest

ASSETS = Path(__file__).resolve().parents[1] / "assets"
TEMPLATE = ASSETS / "lesson.md"
FIGURES = ASSETS / "lesson_figures.json"
#: Where the evaluation tables live in a source checkout (only to write :data:`FIGURES`).
DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"
METRIC = "gaussian@0.5"
#: Figure name -> (evaluation table in docs/, method, metric), all at Gaussian noise 0.5.
TABLE_FIGURES = {
    "adadelta_psnr": ("eval-reference.json", "tutorial-adadelta", "psnr"),
    "adadelta_ssim": ("eval-reference.json", "tutorial-adadelta", "ssim"),
    "noisy_psnr": ("eval-reference.json", "noisy input", "psnr"),
    "median_psnr": ("eval-gaussian.json", "filter: median", "psnr"),
}


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


def table_figures(docs_dir: str | Path = DOCS_DIR) -> dict[str, float | None]:
    """The lesson's evaluation figures read from the tables in ``docs_dir``."""
    docs = Path(docs_dir)
    return {name: _table_figure(docs / table, method, metric)
            for name, (table, method, metric) in TABLE_FIGURES.items()}


def _shipped_figures(path: Path = FIGURES) -> dict[str, float | None]:
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        saved = {}
    saved = saved if isinstance(saved, dict) else {}
    return {name: saved.get(name) if isinstance(saved.get(name), (int, float)) else None
            for name in TABLE_FIGURES}


def lesson_figures(docs_dir: str | Path | None = None, models_dir: str | Path | None = None) -> dict:
    """The lesson's figures by placeholder name (None where a file lacks one).

    The evaluation figures come from the package's own ``lesson_figures.json``, or from the
    tables in ``docs_dir`` when one is given; the model's from its manifest.
    """
    figures = _shipped_figures() if docs_dir is None else table_figures(docs_dir)
    try:
        entry = read_manifest(models_dir)["models"].get("seed-dense", {})
        measured = entry.get("metrics", {}).get(METRIC, {})
    except (ValueError, AttributeError):
        measured = {}
    return {**figures, "seed_dense_psnr": measured.get("psnr"), "seed_dense_ssim": measured.get("ssim")}


def lesson_markdown(docs_dir: str | Path | None = None, models_dir: str | Path | None = None) -> str:
    """The lesson as Markdown, its figures filled in from the measurement files."""
    figures = {name: _NotMeasured() if value is None else value
               for name, value in lesson_figures(docs_dir, models_dir).items()}
    return TEMPLATE.read_text().format(**figures)


def write_figures(docs_dir: str | Path = DOCS_DIR, path: str | Path = FIGURES) -> dict:
    """Write the evaluation figures from ``docs_dir``'s tables into the package's figures file."""
    from denoiser.models.files import save_bytes

    figures = table_figures(docs_dir)
    save_bytes((json.dumps(figures, indent=2, sort_keys=True) + "\n").encode(), path)
    return figures


if __name__ == "__main__":  # python -m denoiser.teaching.lesson [DOCS_DIR]
    print(json.dumps(write_figures(*sys.argv[1:2]), indent=2))
