"""Install footprint: a fresh virtualenv's install time and size for the app's requirements.

Usage: python -m benchmarks.bench_install [--variant cpu|full] [--keep DIR]

``cpu`` installs requirements.txt as it is (``tensorflow-cpu`` on Linux x86-64 and Windows);
``full`` installs the same with ``tensorflow`` instead (the build with GPU kernels, as before).
Each run makes a new virtualenv with ``python -m venv``, times ``pip install --no-cache-dir -r``
(downloads included: the registry's speed counts), checks that ``import tensorflow, keras,
onnxruntime, streamlit`` works, and prints a JSON report with the virtualenv's size on disk.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def size_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
                 / 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=["cpu", "full"], default="cpu")
    parser.add_argument("--keep", help="build the virtualenv here and keep it")
    args = parser.parse_args()
    from harness.machine import describe_machine

    requirements = (ROOT / "requirements.txt").read_text()
    if args.variant == "full":
        requirements = re.sub(r"^tensorflow-cpu==([\d.]+);.*$", r"tensorflow==\1", requirements,
                              flags=re.M)
        requirements = re.sub(r"^tensorflow==[\d.]+;.*$\n", "", requirements, flags=re.M)
    work = Path(args.keep or tempfile.mkdtemp(prefix="denoiser-venv-"))
    try:
        req = work / "requirements.txt"
        work.mkdir(parents=True, exist_ok=True)
        req.write_text(requirements)
        venv = work / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = venv / "bin" / "python"
        start = time.perf_counter()
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-cache-dir",
                        "--disable-pip-version-check", "-r", str(req)], check=True)
        seconds = time.perf_counter() - start
        check = subprocess.run([str(python), "-c", "import tensorflow, keras, onnxruntime, streamlit; "
                                "print(tensorflow.__version__)"], capture_output=True, text=True)
        tf_dists = subprocess.run([str(python), "-m", "pip", "list", "--format=json"],
                                  capture_output=True, text=True, check=True).stdout
        report = {"machine": describe_machine(), "variant": args.variant,
                  "tensorflow_distribution": [d["name"] for d in json.loads(tf_dists)
                                              if d["name"].lower().startswith("tensorflow")],
                  "install_seconds": round(seconds), "venv_mb": size_mb(venv),
                  "imports_ok": check.returncode == 0}
        print(json.dumps(report, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
