"""Orthonormal bases: exact round trip, orthonormality, adjointness, and dense references built here."""

import numpy as np
import pytest
import torch
from conftest import dct_matrix

from ganprior.operators.bases import (
    DCT2,
    BasisOperator,
    Identity,
    Wavelet,
    get_basis,
    orthogonal_wavelets,
)
from ganprior.operators import dottest

torch.set_num_threads(1)

CASES = [
    ("pixel", {}, (3, 8, 8)),
    ("dct", {}, (3, 8, 8)),
    ("dct", {}, (5, 12)),
    ("wavelet", {}, (3, 64, 64)),
    ("wavelet", {}, (1, 28, 28)),
    ("wavelet", {"wavelet": "db2"}, (2, 16, 32)),
    ("wavelet", {"wavelet": "sym4", "level": 2}, (1, 32, 32)),
    ("wavelet", {"wavelet": "coif1", "level": 1}, (12, 12)),
]
IDS = [f"{name}-{kw.get('wavelet', '')}-{'x'.join(map(str, shape))}" for name, kw, shape in CASES]


def haar_mallat(x):
    """Max-level 2-D Haar of a square power-of-two image, coefficients [a, (h, v, d) coarse to fine]."""
    details = []
    a = x
    while a.shape[0] > 1:
        tl, tr, bl, br = a[0::2, 0::2], a[0::2, 1::2], a[1::2, 0::2], a[1::2, 1::2]
        details.insert(0, ((tl + tr - bl - br) / 2, (tl - tr + bl - br) / 2, (tl - tr - bl + br) / 2))
        a = (tl + tr + bl + br) / 2
    return np.concatenate([a.ravel()] + [c.ravel() for level in details for c in level])


def haar_matrix(N):
    return np.stack([haar_mallat(e.reshape(N, N)) for e in np.eye(N * N)], axis=1)


@pytest.mark.parametrize("name,kw,shape", CASES, ids=IDS)
def test_round_trip_and_orthonormal(name, kw, shape):
    psi = get_basis(name, shape, **kw)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, *shape))
    w = psi.analysis(x)
    assert w.shape == (2, 3, int(np.prod(shape)))
    np.testing.assert_allclose(psi.synthesis(w), x, rtol=0, atol=1e-10)
    np.testing.assert_allclose(np.linalg.norm(w, axis=-1), np.linalg.norm(x.reshape(2, 3, -1), axis=-1), rtol=1e-12)
    # flat input is accepted and gives the same coefficients
    np.testing.assert_array_equal(psi.analysis(x.reshape(2, 3, -1)), w)


@pytest.mark.parametrize("name,kw,shape", CASES, ids=IDS)
def test_dottest_via_operator(name, kw, shape):
    op = BasisOperator(get_basis(name, **kw), shape)
    assert op.shape == (int(np.prod(shape)),) * 2
    dottest(op)
    dottest(op.H)
    x = torch.randn(4, *shape, dtype=torch.float64)
    torch.testing.assert_close(op.adjoint(op(x)), x, rtol=0, atol=1e-10)


def test_shape_per_call_and_dtype():
    psi = DCT2()
    x = np.random.default_rng(1).standard_normal((4, 1, 8, 8)).astype(np.float32)
    w = psi.analysis(x, image_shape=(1, 8, 8))
    assert w.dtype == np.float32 and w.shape == (4, 64)
    assert psi.synthesis(w, (1, 8, 8)).dtype == np.float32
    assert Wavelet().analysis(x, (1, 8, 8)).dtype == np.float32
    assert Identity((1, 8, 8)).analysis(np.ones((2, 1, 8, 8), dtype=np.int64)).dtype == np.float64


def test_dct_matches_cosine_formula():
    D = dct_matrix(8)
    np.testing.assert_allclose(D @ D.T, np.eye(8), atol=1e-14)
    psi = DCT2((8, 8))
    x = np.random.default_rng(2).standard_normal((5, 8, 8))
    np.testing.assert_allclose(psi.analysis(x), (D @ x @ D.T).reshape(5, 64), atol=1e-12)
    np.testing.assert_allclose(psi.analysis(x), x.reshape(5, 64) @ np.kron(D, D).T, atol=1e-12)
    # channel-wise: a (C, H, W) image is C independent 2-D transforms
    x3 = np.random.default_rng(3).standard_normal((2, 3, 8, 8))
    expected = np.einsum("kh,bchw,lw->bckl", D, x3, D).reshape(2, -1)
    np.testing.assert_allclose(DCT2((3, 8, 8)).analysis(x3), expected, atol=1e-12)


def test_haar_max_level_matches_dense():
    psi = Wavelet("db1", image_shape=(8, 8))
    assert psi.max_level() == 3
    dense = np.stack([psi.analysis(e.reshape(8, 8)) for e in np.eye(64)], axis=1)  # only here, in the test
    np.testing.assert_allclose(dense, haar_matrix(8), atol=1e-14)
    np.testing.assert_allclose(dense @ dense.T, np.eye(64), atol=1e-13)
    np.testing.assert_allclose(dense[0], np.full(64, 1 / 8), atol=1e-14)  # the approximation is the scaled mean
    synth = np.stack([psi.synthesis(e) for e in np.eye(64)], axis=-1).reshape(64, 64)
    np.testing.assert_allclose(synth, dense.T, atol=1e-14)


def test_max_level_rule():
    assert Wavelet(image_shape=(3, 64, 64)).max_level() == 6  # as in the paper
    assert Wavelet(image_shape=(1, 28, 28)).max_level() == 2  # 28 = 4 * 7
    assert Wavelet("db4", image_shape=(64, 64)).max_level() == 3


def test_orthogonal_wavelet_list():
    names = orthogonal_wavelets()
    assert names == sorted(names)
    assert {"haar", "db1", "db2", "sym4", "coif1"} <= set(names)
    assert "dmey" not in names and not any(n.startswith(("bior", "rbio")) for n in names)


def test_errors():
    with pytest.raises(ValueError, match=r"'name' parameter of get_basis must be one of \['dct', 'pixel', 'wavelet'\]"):
        get_basis("fourier", (8, 8))
    with pytest.raises(ValueError, match=r"orthogonal wavelets \['coif1', 'coif10'.*Got 'bior2.2' \(it is not an orth"):
        Wavelet("bior2.2")
    with pytest.raises(ValueError, match=r"orthogonal wavelets .*Got 'nope' instead"):
        Wavelet("nope")
    with pytest.raises(ValueError, match=r"'mode' parameter of Wavelet must be one of \['periodization'\]"):
        Wavelet(mode="symmetric")
    with pytest.raises(ValueError, match=r"'level' parameter of Wavelet must be at most 2 .* Got 3"):
        Wavelet(level=3, image_shape=(1, 28, 28))
    with pytest.raises(ValueError, match=r"'level' parameter of Wavelet must be an int >= 1. Got 0"):
        Wavelet(level=0)
    with pytest.raises(ValueError, match=r"height and width are even"):
        Wavelet(image_shape=(7, 8))
    with pytest.raises(ValueError, match=r"must be \(H, W\) or \(C, H, W\)"):
        DCT2((64,))
    with pytest.raises(ValueError, match=r"DCT2 needs the image shape"):
        DCT2().analysis(np.zeros((8, 8)))
    with pytest.raises(ValueError, match=r"expects images of shape \(\*batch, 8, 8\) or \(\*batch, 64\)"):
        DCT2((8, 8)).analysis(np.zeros((2, 7, 8)))
    with pytest.raises(ValueError, match=r"expects coefficients of shape \(\*batch, 64\)"):
        DCT2((8, 8)).synthesis(np.zeros((2, 63)))
    with pytest.raises(TypeError, match=r"expects a numpy.ndarray for 'x'"):
        DCT2((8, 8)).analysis(torch.zeros(8, 8))
    with pytest.raises(ValueError, match=r"takes no keyword arguments"):
        get_basis("dct", (8, 8), wavelet="db2")
    with pytest.raises(TypeError, match=r"'basis' parameter of BasisOperator"):
        BasisOperator("dct", (8, 8))
