"""One entry point for every benchmark: ``python -m benchmarks NAME [its options]``.

``python -m benchmarks`` lists them. Each is still runnable as ``python -m benchmarks.NAME``; this
only runs that module as ``__main__`` with the remaining arguments.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

#: Modules here that are helpers, not commands.
HELPERS = {"__init__", "__main__", "bare_app"}


def commands() -> list[str]:
    """Every benchmark's name: ``NAME`` for ``benchmarks/NAME.py``, ``research.NAME`` for the
    probes in ``benchmarks/research/``."""
    here = Path(__file__).parent
    return sorted([p.stem for p in here.glob("*.py") if p.stem not in HELPERS]
                  + [f"research.{p.stem}" for p in (here / "research").glob("*.py") if p.stem != "__init__"])


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip().splitlines()[0] + "\n\nbenchmarks: " + ", ".join(commands()))
        return 0
    name, rest = argv[0], argv[1:]
    if name not in commands():
        print(f"no benchmark {name!r}: choose one of {', '.join(commands())}", file=sys.stderr)
        return 2
    sys.argv = [f"python -m benchmarks {name}", *rest]
    runpy.run_module(f"benchmarks.{name}", run_name="__main__", alter_sys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
