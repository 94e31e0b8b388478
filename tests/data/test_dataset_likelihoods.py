"""Dataset jobs under other measurement models (issue 42): ``recover_dataset(..., likelihood=)`` and
``ganprior recover --images --likelihood``.

Each image is measured under the model with its noise seeded by (seed, image number), so the parts of a sharded job
and a rerun see the same y; the parts record the model, so a folder of one model is never resumed with another; the
combinations that cannot work are refused in one line before any work; the Gaussian default is the job of before.
"""

import math

import numpy as np
import pytest
import torch

from ganprior import metrics
from ganprior.jobs import OtherSettingsError, _measure, merge_dataset, recover_dataset
from ganprior.likelihoods import Magnitude, Poisson, Sign
from ganprior.operators import measurement_operator
from tests.data.test_datasets import SHAPE, images

KW = dict(m=20, chunk=2, seed=3, restarts=2, steps=30, lr=0.05, schedule="constant")


def test_a_sharded_sign_job_equals_the_one_part_job_and_reports_the_error_of_unit_norm_images(tmp_path):
    G, x = images()
    one, two = tmp_path / "one", tmp_path / "two"
    assert recover_dataset(x, G, out=one, likelihood="sign", **KW) == [0, 1, 2, 3]
    assert recover_dataset(x, G, out=two, likelihood="sign", rank=1, world_size=2, **KW) == [1, 3]
    assert recover_dataset(x, G, out=two, likelihood="sign", rank=0, world_size=2, **KW) == [0, 2]
    a, b = merge_dataset(one, 7, png=False), merge_dataset(two, 7, png=False)
    assert np.array_equal(a, b)
    assert (one / "metrics.csv").read_bytes() == (two / "metrics.csv").read_bytes()
    lines = (one / "metrics.csv").read_text().splitlines()
    assert lines[0] == "image,mse,psnr,normalized_mse" and len(lines) == 8
    unit = lambda v: v.flatten(1) / v.flatten(1).norm(dim=1, keepdim=True)  # noqa: E731
    want = ((unit(torch.from_numpy(a).double()) - unit(x.double())) ** 2).mean(1)  # by hand, float64
    got = [float(line.split(",")[3]) for line in lines[1:]]
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-4)
    # the job solved signs: y = sign(A x) of the same operator; a Gaussian job of these settings gives other images
    recover_dataset(x, G, out=tmp_path / "gauss", **KW)
    assert not np.allclose(merge_dataset(tmp_path / "gauss", 7, png=False), a, atol=1e-3)


@pytest.mark.parametrize("model, noise", [(Sign(flip=0.2), 0.0), (Magnitude(), 0.3), (Poisson(photons=50.0), 0.0)])
def test_the_measurements_of_an_image_do_not_depend_on_its_chunk(model, noise):
    _, x = images(6)
    operator = "nonnegative" if model.name == "poisson" else "gaussian"
    A = measurement_operator(operator, 40, SHAPE, seed=3)
    whole = _measure(A, x, list(range(6)), model, noise, seed=5)
    parts = torch.cat([_measure(A, x[i:i + 2], [i, i + 1], model, noise, seed=5) for i in (0, 2, 4)])
    alone = _measure(A, x[3:4], [3], model, noise, seed=5)
    assert torch.equal(whole, parts) and torch.equal(whole[3:4], alone)
    u = A(x).double()
    if model.name == "sign":  # a fraction ~0.2 of sign(Ax) flipped, each image its own flips
        flipped = (whole != torch.where(u >= 0, 1.0, -1.0)).double()
        assert 0.1 < float(flipped.mean()) < 0.3 and not torch.equal(flipped[0], flipped[1])
    elif model.name == "magnitude":  # |Ax| + noise of norm about 0.3, each image its own draw
        eta = whole.double() - u.abs()
        assert 0.3 * 0.6 < float(eta.norm(dim=1).mean()) < 0.3 * 1.4
        assert float((eta[0] - eta[1]).abs().max()) > 1e-3
    else:  # counts of mean photons * Ax
        assert torch.equal(whole, whole.round()) and bool((whole >= 0).all())
        assert abs(float(whole.double().mean()) / float(50 * u.mean()) - 1) < 0.1
    assert not torch.equal(whole, _measure(A, x, list(range(6)), model, noise, seed=6))  # the job's seed draws


def test_the_gaussian_default_is_the_job_of_before(tmp_path):
    """likelihood=None, "gaussian" and Gaussian() are one job: the same parts (a rerun computes nothing), and y is
    A x + image_noise, as before."""
    from ganprior.jobs import image_noise
    from ganprior.likelihoods import Gaussian

    G, x = images(4)
    kw = {**KW, "noise_norm": 0.1}
    assert recover_dataset(x, G, out=tmp_path, **kw) == [0, 1]
    assert recover_dataset(x, G, out=tmp_path, likelihood="gaussian", **kw) == []
    assert recover_dataset(x, G, out=tmp_path, likelihood=Gaussian(), **kw) == []
    A = measurement_operator("gaussian", 20, SHAPE, seed=3)
    assert torch.equal(_measure(A, x, [0, 1, 2, 3], None, 0.1, 3), A(x) + image_noise([0, 1, 2, 3], 20, 0.1, seed=3))


def test_a_resume_with_another_model_is_refused_naming_it(tmp_path):
    G, x = images(4)
    kw = {**KW, "operator": "nonnegative"}
    assert recover_dataset(x, G, out=tmp_path, likelihood=Poisson(photons=10.0), **kw) == [0, 1]
    for other in ("sign", Poisson(photons=100.0), None):
        with pytest.raises(OtherSettingsError, match=r"other settings.*'likelihood' was Poisson\(photons=10\.0"):
            recover_dataset(x, G, out=tmp_path, likelihood=other, **kw)
    assert recover_dataset(x, G, out=tmp_path, likelihood=Poisson(photons=10.0), **kw) == []


@pytest.mark.parametrize("changes, message", [
    ({"likelihood": "poisson"}, r"'operator' parameter.*\['nonnegative', 'identity'\].*Got 'gaussian'"),
    ({"likelihood": "sign", "noise_norm": 0.1}, r"'noise_norm' parameter.*must be 0 with likelihood='sign'"),
    ({"likelihood": "poisson", "operator": "nonnegative", "noise_norm": 0.1}, "'noise_norm' parameter"),
    ({"likelihood": Magnitude(noise_std=0.01)}, r"noise_std=0\.01.*give Magnitude\(\) and noise_norm"),
    ({"likelihood": "sign", "method": "sparse-gen"}, r"'sign', which method='sparse-gen' does not take"),
    ({"likelihood": "poisson", "operator": "identity"}, r"number of pixels \(36 .*Got 20"),
    ({"likelihood": "poisson", "operator": "nonnegative", "negative": True}, r"'images'.*>= 0 with likelihood"),
    ({"likelihood": "hinge"}, "'likelihood'"),
])
def test_impossible_combinations_are_refused_before_any_work(changes, message, tmp_path):
    G, x = images(2)
    G.data_range = (-1.0, 1.0)  # so that negative images pass the range check and reach the model's
    changes = dict(changes)
    if changes.pop("negative", False):
        x = x - 0.5
    with pytest.raises((ValueError, TypeError), match=message):
        recover_dataset(x, G, out=tmp_path / "o", **{**KW, **changes})
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("model", [Magnitude(), Poisson(photons=1000.0), Sign(flip=0.1)])
def test_each_chunk_is_solved_with_the_model_that_measured_it(model, tmp_path):
    """The job's images are recover's on y drawn here, image by image, from the job's operator and seeds; the
    Gaussian least squares on the same y gives other images."""
    import ganprior

    G, x = images(3)
    kw = {**KW, "m": 36 if model.name == "poisson" else 30}
    job = {"operator": "identity" if model.name == "poisson" else "gaussian",
           "noise_norm": 0.05 if model.name == "magnitude" else 0.0}
    recover_dataset(x, G, out=tmp_path, likelihood=model, **job, **kw)
    x_hat = torch.from_numpy(merge_dataset(tmp_path, 3, png=False))
    A = measurement_operator(job["operator"], kw["m"], SHAPE, seed=3)
    draw = Magnitude(noise_std=0.05 / math.sqrt(30)) if model.name == "magnitude" else model
    engine = {k: kw[k] for k in ("restarts", "steps", "lr", "schedule")}
    for chunk in ([0, 1], [2]):
        y = torch.cat([draw.sample(A(x[i:i + 1]), seed=3 * 1_000_003 + i) for i in chunk])
        ref = ganprior.recover(y, A, G, likelihood=model, seed=[3 + i for i in chunk], **engine)
        assert torch.equal(x_hat[chunk], ref.reshape(-1, *SHAPE))
        other = ganprior.recover(y, A, G, seed=[3 + i for i in chunk], **engine)
        assert float((other.reshape(-1, *SHAPE) - x_hat[chunk]).abs().max()) > 1e-2
    lines = (tmp_path / "metrics.csv").read_text().splitlines()
    column = {"magnitude": ["mse_up_to_sign"], "sign": ["normalized_mse"], "poisson": []}[model.name]
    assert lines[0].split(",") == ["image", "mse", "psnr", *column]
    if column:
        error = getattr(metrics, column[0])(x_hat, x)
        np.testing.assert_allclose([float(r.split(",")[3]) for r in lines[1:]], error.numpy(), rtol=1e-4)
