"""What the benchmark scripts share: the repository root and the common options."""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NEVER = 10**9  # a step count no benchmark reaches


def base_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with --config, --corpus and --set, as every benchmark takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "char-small.toml",
                        help="TOML preset")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpora" / "tiny-shakespeare.txt",
                        help="corpus file or directory")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="config override, e.g. model.units=256")
    return parser
