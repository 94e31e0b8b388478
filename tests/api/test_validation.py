"""Every bad input to recover fails before any work with a message naming the argument, expectation and value."""

import re

import numpy as np
import pytest
import torch
from conftest import relu_generator

import ganprior
from ganprior import operators as ops
from ganprior._validation import check_seed

G = relu_generator(k=4, hidden=16, n=36, seed=0, image_shape=(1, 6, 6))
A = ops.Gaussian(10, in_shape=(1, 6, 6), seed=0)
Y = torch.zeros(10)


def call(**overrides):
    kw = dict(y=Y, A=A, G=G, restarts=1, steps=1, seed=0)
    kw.update(overrides)
    y, a, g = kw.pop("y"), kw.pop("A"), kw.pop("G")
    return ganprior.recover(y, a, g, **kw)


BAD = [
    ("y list", dict(y=[0.0] * 10), TypeError, r"'y' parameter of recover must be a numpy.ndarray or torch.Tensor of shape \(m,\) or \(P, m\). Got \[0.0"),
    ("y 3-D", dict(y=torch.zeros(2, 2, 10)), ValueError, r"'y' parameter of recover must have shape \(m,\) or \(P, m\).*shape \(2, 2, 10\)"),
    ("y NaN", dict(y=torch.full((10,), float("nan"))), ValueError, r"'y' parameter must hold only finite values. Got 10 NaN or Inf"),
    ("y complex", dict(y=np.zeros(10, dtype=complex)), TypeError, r"'y' parameter of recover must hold real numbers"),
    ("y wrong m", dict(y=torch.zeros(3, 11)), ValueError, r"'y' holds m=11 measurements per problem but the operator 'A' has m=10 rows"),
    ("A wrong type", dict(A="gaussian"), TypeError, r"'A' parameter must be a ganprior LinearOperator or an \(m, n\)"),
    ("A 3-D array", dict(A=np.zeros((2, 10, 36))), ValueError, r"'A' parameter, given as an array, must be a 2-D \(m, n\) matrix"),
    ("A Inf", dict(A=np.full((10, 36), np.inf)), ValueError, r"'matrix' parameter must hold only finite values"),
    ("A wrong n", dict(A=ops.Gaussian(10, n=35, seed=0)), ValueError, r"the operator 'A' takes n=35 pixels but G makes images of shape \(1, 6, 6\) \(n=36\)"),
    ("A wrong image shape", dict(A=ops.Gaussian(10, in_shape=(4, 3, 3), seed=0)), ValueError, r"acts on images of shape \(4, 3, 3\) but G makes images of shape \(1, 6, 6\)"),
    ("G wrong type", dict(G=3), TypeError, r"'G' parameter of recover must be a ganprior.Generator, a torch.nn.Module or a bundled prior name. Got 3"),
    ("G missing", dict(G=None), ValueError, r"'G' parameter of recover is required"),
    ("bare module no latent", dict(G=torch.nn.Linear(4, 36)), ValueError, r"Cannot infer the latent shape.*give 'latent_shape'"),
    ("restarts 0", dict(restarts=0), ValueError, r"'restarts' parameter of recover must be an int >= 1. Got 0 instead"),
    ("restarts bool", dict(restarts=True), TypeError, r"'restarts' parameter of recover must be an int >= 1. Got True"),
    ("restarts float", dict(restarts=2.5), TypeError, r"'restarts' parameter of recover must be an int >= 1. Got 2.5"),
    ("steps 0", dict(steps=0), ValueError, r"'steps' parameter of recover must be an int >= 1. Got 0 instead"),
    ("lam negative", dict(lam=-0.1), ValueError, r"'lam' parameter of CSGMObjective must be a real number >= 0.0. Got -0.1"),
    ("lam nan", dict(lam=float("nan")), ValueError, r"'lam' parameter of CSGMObjective must be finite"),
    ("lr zero", dict(lr=0.0), ValueError, r"'lr' parameter of recover must be a real number > 0.0. Got 0.0"),
    ("method unknown", dict(method="csgn"), ValueError,
     r"'method' parameter of recover must be one of " + re.escape(str(ganprior.method_names())) + r". Got 'csgn'"),
    ("optimizer unknown", dict(optimizer="lbfgs"), ValueError, r"'optimizer' parameter of recover must be one of \['adam', 'langevin', 'sgd'\]. Got 'lbfgs'"),
    ("select unknown", dict(select="best"), ValueError, r"'select' parameter of recover must be one of \['fit', 'loss', 'measurement', 'total'\]"),
    ("precision unknown", dict(precision="fp16"), ValueError, r"'precision' parameter of recover must be one of \['auto', 'bf16', 'fp32'\]"),
    ("seed negative", dict(seed=-1), ValueError, r"'seed' parameter must be an int >= 0. Got -1"),
    ("seed wrong type", dict(seed="0"), TypeError, r"'seed' parameter must be None, an int >= 0 or a torch.Generator. Got '0'"),
    ("seed list wrong length", dict(y=torch.zeros(3, 10), seed=[1, 2]), ValueError, r"one seed per problem \(3\). Got a sequence of length 2"),
    ("row_chunk 0", dict(row_chunk=0), ValueError, r"'row_chunk' parameter of recover must be an int >= 1. Got 0"),
    ("patience 0", dict(patience=0), ValueError, r"'patience' parameter of recover must be an int >= 1"),
    ("alpha for csgm", dict(alpha=0.1), ValueError, r"Unknown argument\(s\) \['alpha'\] for method='csgm' of recover: its own arguments are \['lam'\]"),
    ("return_result not bool", dict(return_result=1), TypeError, r"'return_result' parameter of recover must be a bool"),
    ("G given to lasso", dict(method="lasso", restarts=None, steps=None, seed=None), ValueError, r"'G' parameter must be None for method='lasso'"),
    ("engine setting given to lasso", dict(G=None, method="lasso"), ValueError, r"\['restarts', 'seed', 'steps'\] of recover are for latent methods; method='lasso' is a sparse baseline"),
    ("unknown option", dict(lamda=0.1), ValueError, r"Unknown argument\(s\) \['lamda'\] for method='csgm' of recover"),
    ("history not bool", dict(history="yes"), TypeError, r"'history' parameter of recover must be a bool"),
    ("preset unknown", dict(preset="bora"), ValueError, r"'preset' parameter of recover must be one of \['bora2017'\]"),
    ("y overflows fp32", dict(y=np.full(10, 1e40)), ValueError, r"'y' parameter of recover overflows the generator's dtype torch.float32"),
]


@pytest.mark.parametrize("case, overrides, exc, message", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_rejected_with_a_clear_message(case, overrides, exc, message):
    with pytest.raises(exc, match=message):
        call(**overrides)


def test_errors_come_before_any_work(monkeypatch):
    """A bad argument late in the list must not let the engine start."""
    import ganprior.solvers.recovery as solvers

    def boom(*a, **k):
        raise RuntimeError("the engine started")

    monkeypatch.setattr(solvers, "optimize_latents", boom)
    with pytest.raises(ValueError, match="restarts"):
        call(restarts=0)
    with pytest.raises(ValueError, match="select"):
        # select is checked by the engine itself; it must still fail before the first step
        monkeypatch.undo()
        call(select="nope", steps=10**9)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_device_mismatch_is_rejected():
    with pytest.raises(ValueError, match=r"Device mismatch: the 'y' parameter is on cuda"):
        call(y=Y.cuda())
    with pytest.raises(ValueError, match=r"Device mismatch: the operator 'A' is on cuda"):
        call(A=ops.Gaussian(10, in_shape=(1, 6, 6), seed=0).to("cuda"))


def test_device_mismatch_message_on_cpu_machines(monkeypatch):
    """The device check itself, exercised without a GPU: pretend G lives on another device."""
    import ganprior.generator as gen_mod

    monkeypatch.setattr(gen_mod.Generator, "device", property(lambda self: torch.device("meta")))
    with pytest.raises(ValueError, match=r"Device mismatch: the 'y' parameter is on cpu but G is on meta"):
        call()


def test_check_seed_forms():
    g = torch.Generator().manual_seed(3)
    assert check_seed(g) is g
    assert torch.equal(torch.randn(3, generator=check_seed(5)), torch.randn(3, generator=check_seed(5)))
    assert not torch.equal(torch.randn(3, generator=check_seed(None)), torch.randn(3, generator=check_seed(None)))
