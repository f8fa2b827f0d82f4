"""Print the README's table of shipped models from pretrained/manifest.json (Markdown)."""

from __future__ import annotations

from denoiser.models.config import ModelConfig
from denoiser.models.files import model_dir, read_manifest


def epochs(training: dict | None) -> str:
    parts = []
    while training:
        parts.append(str(training["epochs"]))
        training = training.get("continued_from")
    return " + ".join(reversed(parts))


def main() -> None:
    manifest = read_manifest()
    print("| model | architecture | trained on | epochs | PSNR / SSIM at Gaussian 0.5 | size |")
    print("|---|---|---|---|---|---|")
    for name, entry in manifest["models"].items():
        tr = entry["training"]
        arch = ModelConfig.from_dict(entry["config"]).describe()
        m = entry["metrics"].get("gaussian@0.5", {})
        size = (model_dir() / entry["file"]).stat().st_size / 1e6
        default = " (default)" if name == manifest["default"] else ""
        print(f"| **{name}**{default} | {arch} | {tr['noise']} | {epochs(tr)} "
              f"| {m.get('psnr', float('nan')):.2f} dB / {m.get('ssim', float('nan')):.3f} | {size:.1f} MB |")


if __name__ == "__main__":
    main()
