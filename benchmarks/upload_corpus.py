"""Run the upload corpus through the app's upload path and print what each file gets.

Usage: python -m benchmarks.upload_corpus   (prints a Markdown table)
"""

from __future__ import annotations

import sys

from PIL import Image  # noqa: E402

from denoiser.digits.preprocess import digit_from_bytes  # noqa: E402
from harness.uploads import BAD, GOOD, encode  # noqa: E402

BLANK = {"1×1 black": Image.new("L", (1, 1), 0), "blank white page": Image.new("RGB", (300, 300), "white")}


def main() -> int:
    cases = {name: make for name, make in GOOD.items()}
    cases.update({name: make for name, (make, _) in BAD.items()})
    cases.update({name: (lambda img=img: encode(img, "PNG")) for name, img in BLANK.items()})
    print("| upload | size | outcome |\n|---|---|---|")
    crashes = 0
    for name, make in cases.items():
        data = make()
        try:
            digit = digit_from_bytes(data)
            outcome = f"a 28×28 digit (ink {digit.sum():.0f})"
        except ValueError as err:
            outcome = f"refused: {err}"
        except Exception as err:  # noqa: BLE001 - anything else is a bug, counted here
            crashes += 1
            outcome = f"CRASH {type(err).__name__}: {err}"
        print(f"| {name} | {len(data):,} B | {outcome} |")
    print(f"\n{len(cases)} uploads, {crashes} crashes")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
