"""Which numeric precision training uses: `train.precision` resolved for this machine.

"mixed_bfloat16" multiplies matrices with bfloat16 operands while the stored
weights, the optimizer, the cell state inside a batch, the softmax and the loss
stay float32. "auto" picks it only where it was measured to train faster to the
same loss (docs/BENCHMARKS.md): x86 CPUs with AMX (Intel Xeon Sapphire Rapids
and later), when no GPU is used. Elsewhere it picks float32: CPUs without
native bfloat16 would emulate it (slower), and on GPUs, where Keras's cuDNN
kernel runs, and on AVX-512 BF16 CPUs without AMX (AMD Zen 4) it has not been
measured yet; ask for it by name there.

"auto" is resolved when a run is created and recorded in its config.json, so a
resumed run keeps its numerics.
"""

from __future__ import annotations

from pathlib import Path

PRECISIONS = ("float32", "mixed_bfloat16")
BF16_CPU_FLAGS = ("amx_bf16",)


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU feature flags the kernel reports (empty where there is no /proc/cpuinfo)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return set(value.split())
    return set()


def auto_precision(flags: set[str], n_gpus: int) -> str:
    """What "auto" means on a machine with these CPU flags and this many GPUs."""
    if n_gpus == 0 and any(flag in flags for flag in BF16_CPU_FLAGS):
        return "mixed_bfloat16"
    return "float32"


def resolve_precision(setting: str) -> str:
    """Turns `train.precision` into "float32" or "mixed_bfloat16" for this machine."""
    if setting != "auto":
        return setting
    from textgen.backend import tf

    return auto_precision(cpu_flags(), len(tf.config.list_physical_devices("GPU")))
