r"""What the machine does natively: the one place that decides the solve's precision and describes the hardware.

bfloat16 autocast pays only where the hardware computes it natively: on the CPU with AVX512-BF16 or AMX, on
CUDA from compute capability 8.0 (Ampere) on.  Elsewhere PyTorch emulates it, and a bf16 solve ran about 18x
slower than float32 on an AVX2 CPU (issue 38: 383 s against 21.5 s for the same errors).  So
``precision="auto"`` -- what the bundled priors' recipes mean by their validated ``bf16`` -- is bf16 only where it
is native, float32 otherwise.

:func:`native_bf16` is the detection, with one override for tests and users: the environment variable
``GANPRIOR_NATIVE_BF16`` (``1`` or ``0``) answers for every device.
"""

from __future__ import annotations

import functools
import os
import platform
import warnings

import torch

from ._validation import check_choice

__all__ = ["native_bf16", "resolve_precision", "hardware_info", "PRECISIONS", "NATIVE_BF16_ENV"]

#: The precisions a solve takes: ``"auto"`` (bf16 where native, else fp32), ``"fp32"``, ``"bf16"``.
PRECISIONS = ("auto", "fp32", "bf16")

#: The environment variable that overrides :func:`native_bf16` (``1``: native, ``0``: not native).
NATIVE_BF16_ENV = "GANPRIOR_NATIVE_BF16"


@functools.lru_cache(maxsize=None)
def _cpu_bf16() -> tuple[bool, str]:
    capability = torch.backends.cpu.get_cpu_capability()
    avx512_bf16 = bool(getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)())
    amx = bool(getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)())
    if avx512_bf16 or amx:
        what = " and ".join(name for name, has in (("AVX512-BF16", avx512_bf16), ("AMX", amx)) if has)
        return True, f"bf16 native on this CPU: {what}"
    return False, f"bf16 not native on this CPU: {capability}"


def _cuda_bf16(device: torch.device) -> tuple[bool, str]:
    major, minor = torch.cuda.get_device_capability(device)
    if major >= 8 and torch.cuda.is_bf16_supported():
        return True, f"bf16 native on this GPU: compute capability {major}.{minor}"
    return False, f"bf16 not native on this GPU: compute capability {major}.{minor} < 8.0"


def native_bf16(device="cpu") -> tuple[bool, str]:
    """Whether ``device`` computes bfloat16 natively, and why.

    Parameters
    ----------
    device : str or torch.device
        The device a solve or a training runs on (default the CPU).

    Returns
    -------
    native : bool
        CPU: AVX512-BF16 or AMX (``torch.cpu._is_avx512_bf16_supported``, ``_is_amx_tile_supported``);
        CUDA: ``torch.cuda.is_bf16_supported()`` on compute capability >= 8.0; any other device: False.
    reason : str
        E.g. ``"bf16 not native on this CPU: AVX2"``.

    Notes
    -----
    The environment variable ``GANPRIOR_NATIVE_BF16`` (``1`` or ``0``), when set, answers instead, for every
    device: to test both answers on one machine, or to force either on yours.

    Examples
    --------
    >>> import ganprior
    >>> native, reason = ganprior.hardware.native_bf16("cpu")
    >>> isinstance(native, bool) and reason.startswith("bf16")
    True
    """
    override = os.environ.get(NATIVE_BF16_ENV, "").strip()
    if override:
        if override not in ("0", "1"):
            raise ValueError(f"The environment variable {NATIVE_BF16_ENV} must be '0' or '1'. "
                             f"Got {override!r} instead.")
        native = override == "1"
        return native, f"bf16 {'' if native else 'not '}native: {NATIVE_BF16_ENV}={override}"
    device = torch.device(device)
    if device.type == "cpu":
        return _cpu_bf16()
    if device.type == "cuda":
        return _cuda_bf16(device)
    return False, f"bf16 not known to be native on {device.type}"


def resolve_precision(precision, device, owner="recover") -> tuple[str, str]:
    """The precision a solve runs in: ``"auto"`` becomes bf16 where it is native, else fp32.

    Parameters
    ----------
    precision : {"auto", "fp32", "bf16"}
        As asked for.
    device : str or torch.device
        Where the solve runs.
    owner : str
        The calling function, for messages.

    Returns
    -------
    precision : {"fp32", "bf16"}
        What runs.
    why : str
        E.g. ``"auto: fp32 (bf16 not native on this CPU: AVX2)"``, or ``"as given"``.

    Warns
    -----
    UserWarning
        ``precision="bf16"`` on a device without native bf16: it runs (emulated), and the warning names the
        slowdown and the alternative.
    """
    check_choice(precision, "precision", PRECISIONS, owner=owner)
    if precision == "fp32":
        return "fp32", "as given"
    native, reason = native_bf16(device)
    if precision == "auto":
        used = "bf16" if native else "fp32"
        return used, f"auto: {used} ({reason})"
    if not native:
        warnings.warn(f"{owner}: precision='bf16' runs emulated here ({reason}); it was about 18x slower than "
                      "float32 on an AVX2 CPU. Use precision='auto' (bf16 only where native) or 'fp32'.",
                      UserWarning, stacklevel=3)
        return "bf16", f"as given ({reason}: emulated, slow)"
    return "bf16", f"as given ({reason})"


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def hardware_info(device="cpu") -> dict:
    """The machine a measurement ran on, for benchmark metadata.

    Parameters
    ----------
    device : str or torch.device
        The device measured.

    Returns
    -------
    dict
        ``cpu`` (model name), ``cpu_capability`` (``torch.backends.cpu.get_cpu_capability()``, e.g. ``"AVX2"``),
        ``native_bf16`` (bool, :func:`native_bf16` of ``device``, the override included) with its ``bf16_reason``,
        ``threads`` (``torch.get_num_threads()``), ``torch`` (version) and, on CUDA, ``gpu`` (its name).
    """
    device = torch.device(device)
    native, reason = native_bf16(device)
    info = {"cpu": _cpu_name(), "cpu_capability": torch.backends.cpu.get_cpu_capability(), "native_bf16": native,
            "bf16_reason": reason, "threads": torch.get_num_threads(), "torch": torch.__version__}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
