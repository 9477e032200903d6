"""Which numeric precision training uses: `train.precision` resolved for this machine.

"mixed_bfloat16" multiplies matrices in bfloat16 while weights, the LSTM cell
state and the loss stay float32. It pays off only where the hardware multiplies
bfloat16 natively: x86 CPUs with AMX or AVX-512 BF16 (Intel Sapphire Rapids and
later, AMD Zen 4 and later) and NVIDIA GPUs of compute capability 8.0 or more
(Ampere and later). Elsewhere bfloat16 is emulated and slower, so "auto" picks
float32 there.
"""

from __future__ import annotations

from pathlib import Path

PRECISIONS = ("float32", "mixed_bfloat16")
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


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


def has_fast_bfloat16(flags: set[str], gpu_capabilities: list[tuple[int, int]]) -> bool:
    """True when the device that will train multiplies bfloat16 natively.

    Args:
        flags: the CPU's feature flags (see `cpu_flags`).
        gpu_capabilities: the compute capability of each visible GPU; when there is
            one, training runs on it and the CPU does not matter.
    """
    if gpu_capabilities:
        return all(cap >= (8, 0) for cap in gpu_capabilities)
    return any(flag in flags for flag in BF16_CPU_FLAGS)


def resolve_precision(setting: str) -> str:
    """Turns `train.precision` into "float32" or "mixed_bfloat16" for this machine."""
    if setting != "auto":
        return setting
    return "mixed_bfloat16" if has_fast_bfloat16(cpu_flags(), _gpu_capabilities()) else "float32"


def _gpu_capabilities() -> list[tuple[int, int]]:
    from textgen.backend import tf

    caps = []
    for gpu in tf.config.list_physical_devices("GPU"):
        cap = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        caps.append(tuple(cap) if cap else (0, 0))
    return caps
