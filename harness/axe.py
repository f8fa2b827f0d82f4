"""axe-core (from npm) in a Playwright page: the accessibility rules a screen reader's user meets.

axe-core is installed from npm into ``build/axe`` the first time it is needed (CI starts without
it; no browser download is involved), pinned to :data:`VERSION`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

VERSION = "4.14.1"
ROOT = Path(__file__).resolve().parents[1]
PREFIX = ROOT / "build" / "axe"
SCRIPT = PREFIX / "node_modules" / "axe-core" / "axe.min.js"


def axe_script() -> Path:
    """The path of ``axe.min.js``, installing axe-core from npm when it is not there yet."""
    installed = PREFIX / "node_modules" / "axe-core" / "package.json"
    if SCRIPT.exists() and f'"version": "{VERSION}"' in installed.read_text():
        return SCRIPT
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed to install axe-core for the accessibility tests")
    PREFIX.mkdir(parents=True, exist_ok=True)
    subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(PREFIX),
                    f"axe-core@{VERSION}"], check=True, capture_output=True, timeout=300)
    return SCRIPT


def violations(page, impacts: tuple[str, ...] = ("critical", "serious")) -> list[dict]:
    """axe-core's violations on ``page`` of the given impacts: rule id, impact, help and the
    first few offending elements' HTML."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe_script()))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"], "count": len(v["nodes"]),
             "nodes": [n["html"][:160] for n in v["nodes"][:3]]}
            for v in result["violations"] if v["impact"] in impacts]
