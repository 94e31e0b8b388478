"""Figures: image grids and error-vs-measurements curves (matplotlib is imported only when called)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

__all__ = ["recovery_grid", "error_curves"]


def _to_hwc(images) -> np.ndarray:
    arr = images.detach().cpu().float().numpy() if hasattr(images, "detach") else np.asarray(images, dtype=float)
    if arr.ndim == 3:  # (N, H, W)
        arr = arr[:, None]
    if arr.ndim != 4:
        raise ValueError(f"Expected images of shape (N, C, H, W) or (N, H, W). Got shape {arr.shape}.")
    return np.clip(arr.transpose(0, 2, 3, 1), 0.0, 1.0)


def recovery_grid(panels, path=None, *, scale=1.0):
    """One row of images per panel: e.g. originals, then each method's reconstructions.

    Parameters
    ----------
    panels : sequence of (str, array)
        Row label and images ``(N, C, H, W)`` in [0, 1] (NumPy or torch).
    path : str or os.PathLike, optional
        Save the figure there (PNG) and close it; otherwise return it.
    scale : float
        Size of one image in inches.

    Returns
    -------
    matplotlib.figure.Figure or None
    """
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    rows = [(label, _to_hwc(imgs)) for label, imgs in panels]
    ncol = max(r[1].shape[0] for r in rows)
    fig, axes = plt.subplots(len(rows), ncol, figsize=(scale * ncol + 1.2, scale * len(rows)), squeeze=False)
    for i, (label, imgs) in enumerate(rows):
        for j in range(ncol):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            for side in ax.spines.values():
                side.set_visible(False)
            if j < imgs.shape[0]:
                img = imgs[j]
                ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)
        axes[i, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.subplots_adjust(left=0.12, wspace=0.05, hspace=0.05)
    if path is None:
        return fig
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return None


def error_curves(summary, path=None, *, ylabel="reconstruction error (per pixel)", title=None, logy=True):
    """Mean error vs number of measurements with 95% confidence bars, one curve per method.

    Parameters
    ----------
    summary : sequence of dict
        Rows with keys ``method``, ``m``, ``mean`` and ``ci95`` (half-width).
    path : str or os.PathLike, optional
        Save the figure there and close it; otherwise return it.
    ylabel, title : str
        Axis label and title.
    logy : bool
        Log scale on the error axis.

    Returns
    -------
    matplotlib.figure.Figure or None
    """
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for method in sorted({r["method"] for r in summary}):
        rs = sorted((r for r in summary if r["method"] == method), key=lambda r: r["m"])
        ax.errorbar([r["m"] for r in rs], [r["mean"] for r in rs], yerr=[r["ci95"] for r in rs], marker="o",
                    ms=4, capsize=3, label=method)
    ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("number of measurements m")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    if path is None:
        return fig
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return None


def save_figure(panels, path):
    """:func:`recovery_grid` written atomically (a temp file beside ``path``, then a rename).

    Parameters
    ----------
    panels : sequence of (str, array)
        As :func:`recovery_grid` takes them.
    path : str or os.PathLike
        The figure; its suffix (``.png``, ``.pdf``, ``.svg``, ``.jpg``) gives the format.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from .training._io import atomic_write_bytes

    fig = recovery_grid(panels)
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format=Path(path).suffix[1:].lower() or "png", dpi=100, bbox_inches="tight")
    finally:
        plt.close(fig)
    atomic_write_bytes(buf.getvalue(), path)
