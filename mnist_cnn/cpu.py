"""What this CPU is and can do, read from /proc/cpuinfo (Linux; elsewhere nothing is known)."""

from pathlib import Path


def cpuinfo(field: str) -> list[str]:
    """Every value of a /proc/cpuinfo field ("flags", "model name", "cpu MHz"), one per core; [] where unknown."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []
    return [line.split(":", 1)[1].strip() for line in lines if line.split(":", 1)[0].strip() == field]


def cpu_flags() -> set[str]:
    """The instruction-set flags of the first core: avx512f, avx512_bf16, amx_bf16, ..."""
    values = cpuinfo("flags")
    return set(values[0].split()) if values else set()
