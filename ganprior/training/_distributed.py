"""Joining ``torchrun``'s process group: the environment checked first, a short timeout to form the group.

Every command that runs under ``torchrun`` (``ganprior train``, ``ganprior recover --images``) joins the group
through :func:`start_process_group`, never through ``torch.distributed.init_process_group`` directly.

``WORLD_SIZE > 1`` means "one of several processes started by ``torchrun``", which also sets ``RANK``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``.  Without them torch fails deep inside its rendezvous, and
with them but no peer it waits 30 minutes for a rank that never comes.  So the variables are checked before
any work, and the group must form within ``GANPRIOR_DIST_TIMEOUT`` seconds (default 60); once formed,
its operations get torch's own timeout back (ranks may wait long for each other at a barrier).
"""

from __future__ import annotations

import math
import os
from datetime import timedelta

import torch

TIMEOUT_VARIABLE = "GANPRIOR_DIST_TIMEOUT"
DEFAULT_JOIN_TIMEOUT_S = 60.0


def _advice(world, command):
    return (f"run it with torchrun --nproc_per_node={world if world > 1 else 'N'} -m {command} ..., "
            "or unset WORLD_SIZE for one process")


def _int_variable(name, world, command, minimum=0, below=None):
    text = os.environ.get(name, "")
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(f"The environment variable {name} must be an integer (WORLD_SIZE={world} is set). "
                         f"Got {text!r} instead; {_advice(world, command)}.") from None
    if value < minimum or (below is not None and value >= below):
        bounds = f"in [{minimum}, {below})" if below is not None else f">= {minimum}"
        raise ValueError(f"The environment variable {name} must be an integer {bounds} (WORLD_SIZE={world}). "
                         f"Got {value} instead; {_advice(world, command)}.")
    return value


def join_timeout() -> timedelta:
    """How long :func:`start_process_group` waits for every process: ``GANPRIOR_DIST_TIMEOUT`` seconds, default 60.

    Returns
    -------
    datetime.timedelta

    Raises
    ------
    ValueError
        If the variable is set but not a finite number of seconds > 0.
    """
    text = os.environ.get(TIMEOUT_VARIABLE)
    if text is None or not text.strip():
        return timedelta(seconds=DEFAULT_JOIN_TIMEOUT_S)
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"The environment variable {TIMEOUT_VARIABLE} must be a number of seconds > 0 (how long "
                         f"the processes of a torchrun job wait for each other to start). Got {text!r} instead.")
    return timedelta(seconds=seconds)


def start_process_group(device: str, command: str) -> tuple[int, int, str]:
    """Join the process group of a ``torchrun`` job when ``WORLD_SIZE > 1``; return ``(rank, world_size, device)``.

    Parameters
    ----------
    device : str
        ``"cpu"`` (gloo) or ``"cuda"`` / ``"cuda:i"`` (NCCL, on GPU ``LOCAL_RANK``).
    command : str
        The command, for the advice in errors (e.g. ``"ganprior train"``).

    Returns
    -------
    rank : int
        This process's rank (0 for one process).
    world_size : int
        The number of processes (1 without ``WORLD_SIZE``, or with ``WORLD_SIZE=1``: no group is started).
    device : str
        The device to use: ``"cuda:<LOCAL_RANK>"`` for a CUDA device in a group, else ``device``.

    Raises
    ------
    ValueError
        Before any work, if ``WORLD_SIZE`` is not an integer >= 1, or (with ``WORLD_SIZE > 1``) ``RANK``,
        ``LOCAL_RANK``, ``MASTER_ADDR`` or ``MASTER_PORT`` is missing or malformed, or ``RANK >= WORLD_SIZE``;
        and if the group does not form within ``GANPRIOR_DIST_TIMEOUT`` seconds (default 60).  Each message
        says to run the command under ``torchrun --nproc_per_node=N``, or to unset ``WORLD_SIZE``.

    Notes
    -----
    A group that is already started (by the caller) is used as it is.
    """
    dist = torch.distributed
    text = os.environ.get("WORLD_SIZE", "").strip()
    if not text:
        return 0, 1, device
    try:
        world = int(text)
    except ValueError:
        world = 0
    if world < 1:
        raise ValueError(f"The environment variable WORLD_SIZE must be an integer >= 1 (the number of processes "
                         f"of a torchrun job). Got {text!r} instead; {_advice(0, command)}.")
    if world == 1:
        return 0, 1, device
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), device
    missing = [k for k in ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT") if not os.environ.get(k, "").strip()]
    if missing:
        raise ValueError(f"WORLD_SIZE={world} is set but {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
                         f"not: a job of {world} processes needs the variables that torchrun sets; "
                         f"{_advice(world, command)}.")
    rank = _int_variable("RANK", world, command, below=world)
    local = _int_variable("LOCAL_RANK", world, command)
    port = _int_variable("MASTER_PORT", world, command, minimum=1, below=65536)
    timeout = join_timeout()
    cuda = str(device).startswith("cuda")
    if cuda:
        count = torch.cuda.device_count()
        if local >= count:
            raise ValueError(f"The environment variable LOCAL_RANK must be below the number of GPUs ({count}) to "
                             f"run on {device}. Got {local} instead; run at most {count} processes per machine "
                             f"(torchrun --nproc_per_node={count}).")
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    if not dist.is_available():
        raise ValueError(f"WORLD_SIZE={world} is set but this torch has no torch.distributed; unset WORLD_SIZE "
                         "for one process.")
    backend = "nccl" if cuda else "gloo"
    try:
        dist.init_process_group(backend=backend, timeout=timeout)
        if cuda:  # every rank is there, within the timeout (NCCL starts its communicator here)
            dist.barrier(device_ids=[local])
        else:
            dist.barrier()
    except (RuntimeError, ValueError, OSError) as err:
        if dist.is_initialized():
            dist.destroy_process_group()
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"Process {rank} of WORLD_SIZE={world} could not form the process group at "
                         f"{os.environ['MASTER_ADDR']}:{port} within {timeout.total_seconds():g} s: the other "
                         f"processes did not join ({reason}); {_advice(world, command)} "
                         f"({TIMEOUT_VARIABLE}=SECONDS waits longer).") from None
    _restore_operation_timeout(backend)
    return rank, world, device


def _restore_operation_timeout(backend):
    """Give the group's operations torch's default timeout again: ranks may wait long for each other later."""
    c10d = torch.distributed.distributed_c10d
    try:
        usual = c10d._get_default_timeout(backend)
        c10d._set_pg_timeout(usual)
        c10d._get_default_store().set_timeout(usual)
    except (AttributeError, RuntimeError, ValueError):  # older torch: the join timeout stays
        pass
