"""Times encoding a large corpus and reports peak memory, per tokenizer.

Usage:
    python scripts/bench_encode.py [--mb 100] [--corpus corpora/tiny-shakespeare.txt ...]
                                   [--tokenizer char word]

Each corpus is repeated until it is about `--mb` megabytes, written to a
temporary file, then checked, counted and encoded (`scan_corpus` +
`encode_corpus`, no cache hit) in a fresh process, so that its peak resident
memory (ru_maxrss) is that of the encoding alone. The issue's bound: a 100 MB
corpus must encode without holding more than a few times its size in memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import ROOT  # noqa: E402

CHILD = """
import json, resource, sys, time
from pathlib import Path
from textgen.config import DataConfig
from textgen.data.corpus import scan_corpus
from textgen.data.encode import EncodeOptions, encode_corpus
path, tokenizer, cache = sys.argv[1:4]
t = time.perf_counter()
corpus = scan_corpus([Path(path)])
# workers=None as the textgen command does ("-c" code is safe to spawn from).
enc = encode_corpus(corpus, DataConfig(tokenizer=tokenizer),
                    EncodeOptions(cache_dir=Path(cache), workers=None))
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"seconds": time.perf_counter() - t, "tokens": int(enc.ids.size),
                  "dtype": str(enc.ids.dtype), "peak": own, "worker_peak": kids,
                  "vocab": enc.tokenizer.vocab_size}))
"""


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100.0, help="corpus size to build, in MB")
    parser.add_argument("--corpus", type=Path, nargs="+",
                        default=[ROOT / "corpora" / "tiny-shakespeare.txt",
                                 ROOT / "corpora" / "xiyouji.txt"])
    parser.add_argument("--tokenizer", nargs="+", default=["char"], choices=["char", "word"])
    args = parser.parse_args()
    print(f"{'corpus':<24} {'tokenizer':<9} {'MB':>6} {'tokens':>13} {'dtype':>6} "
          f"{'seconds':>8} {'peak MB':>8} {'x size':>6} {'worker MB':>9}")
    with tempfile.TemporaryDirectory(prefix="bench_encode_") as tmp:
        for source in args.corpus:
            data = source.read_bytes()
            big = Path(tmp) / source.name
            big.write_bytes(data * max(1, round(args.mb * 1e6 / len(data))))
            size = big.stat().st_size
            for tokenizer in args.tokenizer:
                cache = Path(tmp) / f"cache-{source.stem}-{tokenizer}"
                out = subprocess.run([sys.executable, "-c", CHILD, str(big), tokenizer,
                                      str(cache)], capture_output=True, text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"{source.name:<24} {tokenizer:<9} {size / 1e6:>6.1f} {r['tokens']:>13,} "
                      f"{r['dtype']:>6} {r['seconds']:>8.1f} {r['peak'] / 1e6:>8.0f} "
                      f"{r['peak'] / size:>6.2f} {r['worker_peak'] / 1e6:>9.0f}")


if __name__ == "__main__":
    main()
