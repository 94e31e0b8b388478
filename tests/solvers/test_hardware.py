"""Precision chosen by the hardware (issue 38): bf16 only where it is native, both answers tested through the
override, and what ran reported with its reason."""

import warnings

import numpy as np
import pytest
import torch

import ganprior
from ganprior.hardware import NATIVE_BF16_ENV, hardware_info, native_bf16, resolve_precision
from ganprior.solvers.settings import resolve_settings


@pytest.mark.parametrize("value, native", [("1", True), ("0", False)])
def test_the_override_answers_for_every_device(value, native, monkeypatch):
    monkeypatch.setenv(NATIVE_BF16_ENV, value)
    assert native_bf16("cpu") == (native, f"bf16 {'' if native else 'not '}native: {NATIVE_BF16_ENV}={value}")
    assert native_bf16("meta")[0] is native
    assert resolve_precision("auto", "cpu")[0] == ("bf16" if native else "fp32")
    assert resolve_precision("fp32", "cpu") == ("fp32", "as given")


def test_without_the_override_the_cpu_flags_decide(monkeypatch):
    monkeypatch.delenv(NATIVE_BF16_ENV, raising=False)
    flags = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    native, reason = native_bf16("cpu")
    assert native is bool(flags)
    if not native:
        assert reason == f"bf16 not native on this CPU: {torch.backends.cpu.get_cpu_capability()}"
    assert native_bf16("meta") == (False, "bf16 not known to be native on meta")
    info = hardware_info()
    assert info["native_bf16"] is native and info["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert info["threads"] == torch.get_num_threads() and info["cpu"]


def test_a_bad_override_is_an_error_naming_the_variable(monkeypatch):
    monkeypatch.setenv(NATIVE_BF16_ENV, "yes")
    with pytest.raises(ValueError, match=f"{NATIVE_BF16_ENV} must be '0' or '1'. Got 'yes'"):
        native_bf16()


def test_explicit_bf16_without_native_support_runs_with_one_warning(monkeypatch):
    monkeypatch.setenv(NATIVE_BF16_ENV, "0")
    with pytest.warns(UserWarning, match="precision='bf16' runs emulated here .* about 18x slower") as record:
        used, why = resolve_precision("bf16", "cpu", owner="recover")
    assert len(record) == 1 and used == "bf16" and "emulated" in why
    monkeypatch.setenv(NATIVE_BF16_ENV, "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_precision("bf16", "cpu")[0] == "bf16"


def test_a_recipes_bf16_means_bf16_where_native_and_the_callers_is_kept():
    recipe = {"restarts": 2, "precision": "bf16"}
    settings, source = resolve_settings({}, recipe=recipe)
    assert settings["precision"] == "auto" and source["precision"] == "recipe"
    settings, source = resolve_settings({"precision": "bf16"}, recipe=recipe)
    assert settings["precision"] == "bf16" and source["precision"] == "caller"
    settings, _ = resolve_settings({})  # a generator without a recipe: fp32 on every machine
    assert settings["precision"] == "fp32"


@pytest.mark.parametrize("value, expected", [("0", "fp32"), ("1", "bf16")])
def test_recover_with_a_bundled_prior_reports_what_ran_and_why(value, expected, monkeypatch):
    monkeypatch.setenv(NATIVE_BF16_ENV, value)
    G = ganprior.load_prior("mnist")
    x = ganprior.data.load_sample("mnist_test300")[:2]
    A = ganprior.operators.Gaussian(m=25, in_shape=G.image_shape, seed=0)
    res = ganprior.recover(A(x), A, G, restarts=1, steps=2, seed=0, return_result=True)
    assert res.info["settings"]["precision"] == expected
    assert res.info["source"]["precision"] == (
        f"recipe (auto: {expected} (bf16 {'' if value == '1' else 'not '}native: {NATIVE_BF16_ENV}={value}))")
    # fp32 and the recipe's precision on native hardware give the same answer up to bf16 rounding
    assert np.isfinite(np.asarray(res.x)).all()


def test_the_engine_resolves_auto_and_an_explicit_fp32_never_changes(monkeypatch, small_prior):
    A = ganprior.operators.Gaussian(m=20, n=784, seed=0)
    y = A(small_prior(torch.randn(2, 10)).detach())
    obj = ganprior.get_method("csgm").build(y, A, small_prior)
    monkeypatch.setenv(NATIVE_BF16_ENV, "1")
    res = ganprior.optimize_latents(obj, small_prior, 2, restarts=1, steps=3, seed=0, precision="auto")
    assert res.info["precision"] == "bf16"
    fp32 = ganprior.optimize_latents(obj, small_prior, 2, restarts=1, steps=3, seed=0, precision="fp32")
    monkeypatch.setenv(NATIVE_BF16_ENV, "0")
    res = ganprior.optimize_latents(obj, small_prior, 2, restarts=1, steps=3, seed=0, precision="auto")
    assert res.info["precision"] == "fp32" and torch.equal(res.x, fp32.x)


def test_the_trainer_decides_auto_once_and_records_what_ran(monkeypatch):
    from ganprior.models import build_discriminator, build_generator
    from ganprior.training import Trainer

    data = torch.rand(32, 1, 28, 28)
    for value, expected in (("0", "fp32"), ("1", "bf16")):
        monkeypatch.setenv(NATIVE_BF16_ENV, value)
        trainer = Trainer(build_generator("mlp", latent_dim=4, image_shape=(1, 28, 28), width=16),
                          build_discriminator("mlp", image_shape=(1, 28, 28), width=16), data, batch_size=8,
                          precision="auto", sample_every=0)
        assert trainer.precision == expected and trainer.settings()["precision"] == expected
