"""The Learn view's figures come from the files that measured them."""

import json
import shutil
from pathlib import Path

from denoiser.models.files import PRETRAINED_DIR, read_manifest
from denoiser.teaching.lesson import (
    DOCS_DIR,
    FIGURES,
    lesson_figures,
    lesson_markdown,
    table_figures,
    write_figures,
)

ROOT = Path(__file__).resolve().parents[1]


def test_every_figure_is_read_from_the_manifest_or_docs():
    figures = lesson_figures()
    assert all(value is not None for value in figures.values()), figures
    seed = read_manifest()["models"]["seed-dense"]["metrics"]["gaussian@0.5"]
    assert figures["seed_dense_psnr"] == seed["psnr"]
    text = lesson_markdown()
    assert f"**{seed['psnr']:.1f} dB** (SSIM {seed['ssim']:.2f})" in text
    assert "{" not in text and "not measured" not in text


def test_a_new_measurement_changes_the_lesson(tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(DOCS_DIR, docs)
    table = json.loads((docs / "eval-reference.json").read_text())
    for row in table["results"]:
        if row["method"] == "tutorial-adadelta":
            row["psnr"] = 12.345
    (docs / "eval-reference.json").write_text(json.dumps(table))
    assert "**12.3 dB** PSNR" in lesson_markdown(docs, PRETRAINED_DIR)
    (docs / "eval-gaussian.json").unlink()
    assert "median filter (**(not measured) dB**)" in lesson_markdown(docs, PRETRAINED_DIR)


def test_the_shipped_figures_are_the_docs_tables_and_need_no_docs(tmp_path, monkeypatch):
    # an installed package has no docs/: the lesson reads the figures the package ships, which
    # `python -m denoiser.teaching.lesson` writes from the tables, and which must match them
    assert json.loads(FIGURES.read_text()) == table_figures(DOCS_DIR)
    monkeypatch.setattr("denoiser.teaching.lesson.DOCS_DIR", tmp_path / "no-docs-here")
    assert lesson_markdown() == lesson_markdown(DOCS_DIR)
    written = write_figures(DOCS_DIR, tmp_path / "figures.json")
    assert json.loads((tmp_path / "figures.json").read_text()) == written


def test_the_lesson_has_no_link_that_would_leave_the_session():
    # a link with a query string reloads the page: a new session, where the student's runs are gone
    text = lesson_markdown()
    assert "](?" not in text and "?view=" not in text
