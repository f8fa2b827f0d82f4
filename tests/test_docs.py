"""The README's promises: its two commands, CI running the same test command, credits, figures."""

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
START = "pip install -r requirements.txt && streamlit run app.py"
TEST = "pip install -r requirements-dev.txt && python -m pytest"


def test_readme_gives_the_two_commands_and_ci_runs_the_test_command():
    assert START in README and TEST in README
    ci = (ROOT / ".ci" / "run").read_text()
    assert TEST in ci.splitlines()[-1]


def test_ci_installs_into_a_fresh_virtualenv_of_its_own():
    # a requirement only the developer's machine has (sympy, once) must fail CI: .ci/run makes a
    # new virtualenv, without the machine's site-packages, and runs the README's command in it
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^python3 -m venv \"\$venv\"$", ci, re.M) and "system-site-packages" not in ci
    assert ci.index("venv/bin/activate") < ci.index(TEST)
    if os.environ.get("CI") == "true":  # this very run: inside that virtualenv
        import sys
        import sysconfig

        assert sys.prefix != sys.base_prefix
        assert "denoiser-ci-venv" in sys.prefix
        assert not Path(sys.prefix, "pyvenv.cfg").read_text().count("include-system-site-packages = true")
        assert sysconfig.get_paths()["purelib"].startswith(sys.prefix)


def test_readme_credits_mnist_and_its_licence():
    assert "Yann LeCun" in README and "Corinna Cortes" in README and "CC BY-SA 3.0" in README


def test_every_image_the_readme_shows_exists():
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
    assert images, "the README shows no screenshot"
    for path in images:
        assert (ROOT / path).is_file(), path


def test_requirements_pin_the_stack():
    reqs = (ROOT / "requirements.txt").read_text()
    for pin in ("tensorflow==2.21", "tensorflow-cpu==2.21", "keras==3.15", "streamlit==1.67",
                "streamlit-drawable-canvas==0.13", "onnxruntime==1.32", "tf2onnx==1.17"):
        assert pin in reqs, pin


@pytest.mark.parametrize(("platform", "machine", "expected"), [
    ("linux", "x86_64", "tensorflow-cpu"), ("win32", "AMD64", "tensorflow-cpu"),
    ("darwin", "arm64", "tensorflow"), ("linux", "aarch64", "tensorflow"),
])
def test_exactly_one_tensorflow_build_is_installed_per_platform(platform, machine, expected):
    from packaging.requirements import Requirement

    reqs = [Requirement(line) for line in (ROOT / "requirements.txt").read_text().splitlines()
            if line.startswith("tensorflow")]
    env = {"sys_platform": platform, "platform_machine": machine}
    chosen = [r.name for r in reqs if r.marker is None or r.marker.evaluate(env)]
    assert chosen == [expected]


PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[f"block{i}" for i in range(len(PYTHON_BLOCKS))])
def test_every_python_block_of_the_readme_runs(block):
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    if "clean" in namespace:  # the package tour: what its comments promise
        import numpy as np

        clean, quick, noisy = namespace["clean"], namespace["quick"], namespace["noisy"]
        assert clean.shape == (8, 28, 28) and clean.dtype == np.float32
        assert clean.min() >= 0 and clean.max() <= 1
        np.testing.assert_allclose(quick.denoise(noisy), clean, atol=1e-5)
        assert namespace["digit"].shape == (28, 28) and namespace["digit"].max() > 0.5


def test_the_readme_has_python_blocks():
    assert PYTHON_BLOCKS


def markdown_tables() -> list[list[list[str]]]:
    """Every Markdown table of the README, as rows of cells (the header included, the rule not)."""
    tables, current = [], []
    for line in README.splitlines() + [""]:
        if line.startswith("|"):
            if not re.fullmatch(r"\|[-| :]+\|", line):
                current.append([cell.strip() for cell in line.strip("|").split("|")])
        elif current:
            tables.append(current)
            current = []
    return tables


def test_every_figure_in_a_readme_table_is_in_its_file():
    import io
    import json
    from contextlib import redirect_stdout

    from scripts import readme_tables

    tables = {table[0][0]: table for table in markdown_tables()}
    assert set(tables) == {"model", "method"}, "a README table with no source file checked here"
    shipped = io.StringIO()
    with redirect_stdout(shipped):  # the models' table, from pretrained/manifest.json
        readme_tables.main()
    expected = [[c.strip() for c in line.strip("|").split("|")] for line in shipped.getvalue().splitlines()
                if not re.fullmatch(r"\|[-| :]+\|", line)]
    assert tables["model"] == expected
    rows = json.loads((ROOT / "docs" / "eval-gaussian.json").read_text())["results"]
    measured = {(r["method"], r["amount"]): f"{r['psnr']:.2f} / {r['ssim']:.3f}"
                for r in rows if r["kind"] == "gaussian"}
    header, *body = tables["method"]
    amounts = [float(h.split()[-1]) for h in header[1:]]
    assert body
    for method, *cells in body:
        assert cells == [measured[(method, amount)] for amount in amounts], method


def test_the_performance_page_is_generated_from_its_result_files():
    """The page equals what its command writes from benchmarks/results/ (run as a command, as
    anyone regenerates it: the tests import nothing from benchmarks/), and links every file."""
    import subprocess
    import sys

    check = subprocess.run([sys.executable, "-m", "benchmarks.report", "--check"], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    page = (ROOT / "docs" / "performance.md").read_text()
    results = sorted((ROOT / "benchmarks" / "results").glob("*.json"))
    assert results and all(f"]({'../benchmarks/results/' + f.name})" in page for f in results)


def test_docs_hold_no_benchmark_results_and_the_readme_is_short():
    assert not [p.name for p in (ROOT / "docs").glob("*.json") if not p.name.startswith("eval-")]
    assert len(README.encode()) <= 12_288  # a newcomer's page; the rest lives in docs/


def test_the_architecture_page_names_every_module_of_the_package_and_the_pages():
    """docs/architecture.md's module map is checked against the files: a module added, moved or
    renamed without its line there fails here."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    files = [*(ROOT / "denoiser").rglob("*.py"), *(ROOT / "ui").glob("*.py")]
    modules = sorted(str(p.relative_to(ROOT)) for p in files
                     if p.name != "__main__.py" and (p.name != "__init__.py" or p.parent.name == "denoiser"))
    subpackages = sorted(f"denoiser/{p.parent.name}/" for p in (ROOT / "denoiser").glob("*/__init__.py"))
    missing = [m for m in modules + subpackages if f"`{m}`" not in text]
    assert missing == []
    named = set(re.findall(r"`((?:denoiser|ui)/[a-z_/]+\.py)`", text))
    assert sorted(n for n in named if not (ROOT / n).exists()) == []  # nothing named that is gone


def test_every_benchmark_runs_from_one_entry_point():
    """python -m benchmarks NAME runs benchmarks/NAME.py as its own command; an unknown name is
    refused with the list; with no name, the list."""
    import subprocess
    import sys

    def run(*args):
        return subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)

    listed = run().stdout.split("benchmarks: ")[1].strip().split(", ")
    assert "class_load" in listed and "report" in listed and "research.bench_spin" in listed
    assert "timing" not in listed and "bench_spin" not in listed  # helpers live in harness/, probes apart
    assert all((ROOT / "benchmarks" / f"{name.replace('.', '/')}.py").read_text()
               .count('if __name__ == "__main__":') == 1 for name in listed)
    assert run("report", "--check").returncode == 0  # the page matches its files, through the entry point
    wrong = run("report", "--no-such-option")  # the options reach the benchmark's own parser
    assert wrong.returncode == 2 and "--no-such-option" in wrong.stderr
    refused = run("no_such_bench")
    assert refused.returncode == 2 and "no benchmark 'no_such_bench'" in refused.stderr


def test_the_shift_page_is_written_from_its_measurements():
    """docs/shift.md quotes docs/eval-shift-uci.json and nothing else (python -m scripts.shift_figures)."""
    import json

    from scripts.shift_figures import PAGE, RESULTS, page

    results = json.loads(RESULTS.read_text())
    assert PAGE.read_text() == page(results)
    assert results["cpu"] and "CC BY 4.0" in results["credit"]
    rows = {(r["method"], r["digits_of"]): r for r in results["before"]}
    assert rows["blind", "UCI digits"]["digits"] == 1797 and rows["blind", "MNIST test"]["digits"] == 10_000
    results["before"][0]["psnr"] += 1  # a figure changed in the file shows on the page
    assert PAGE.read_text() != page(results)
