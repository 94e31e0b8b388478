"""
Bring your own generator and your own operator
==============================================

Nothing in ganprior is tied to the bundled priors or operators.  Any :class:`torch.nn.Module` that
maps latents to images becomes a prior once wrapped in :class:`ganprior.Generator`, and any linear
measurement process becomes an operator by subclassing
:class:`ganprior.operators.LinearOperator` and writing two methods.  We build both from scratch:
a *linear* generative model of digits (principal components) and an *X-ray* operator that measures
sums of pixels along lines.
"""

# %%
# A generator of your own
# -----------------------
# The simplest generative model is linear: :math:`G(z) = \mu + U S z`, with :math:`\mu` the mean
# digit and :math:`US` the leading principal directions scaled by their standard deviations, so
# that :math:`z \sim \mathcal{N}(0, I)` gives digit-like images.  We fit it on 250 of the bundled
# MNIST digits and keep the other 50 to test.

import torch

import ganprior
from ganprior.data import load_sample
from ganprior.plotting import recovery_grid

digits = load_sample("mnist_test300")
train, test = digits[:250], digits[250:258]


class PCAGenerator(torch.nn.Module):
    """Latents (B, k) -> images (B, 1, 28, 28): the mean plus k scaled principal directions."""

    def __init__(self, images, k):
        super().__init__()
        flat = images.flatten(1)
        mean = flat.mean(0)
        _, s, vt = torch.linalg.svd(flat - mean, full_matrices=False)
        self.register_buffer("mean", mean)
        self.register_buffer("basis", vt[:k] * (s[:k, None] / (len(flat) - 1) ** 0.5))
        self.latent_shape = (k,)

    def forward(self, z):
        return (self.mean + z @ self.basis).reshape(-1, 1, 28, 28)


G = ganprior.Generator(PCAGenerator(train, k=30), output_range=(0, 1))
print(G)
recovery_grid([("samples", G.sample(8, seed=0).clamp(0, 1))])

# %%
# The wrapper read ``latent_shape`` from the module (it also looks for ``latent_dim`` and ``nz``),
# found the image shape with one forward pass, and -- as ``output_range=(0, 1)`` equals the data
# range -- left the output as it is.  A ``tanh`` network would keep the default
# ``output_range=(-1, 1)`` and be mapped to :math:`[0, 1]`.
#
# An operator of your own
# -----------------------
# An X-ray of a thin object measures the sums of its pixels along parallel lines.  We take four
# directions -- rows, columns, diagonals and anti-diagonals -- which gives
# :math:`m = 28 + 28 + 55 + 55 = 166` measurements of 784 pixels.  Each pixel lies on one line per
# direction; ``lines`` holds, for each direction and pixel, the index of its line among all
# :math:`m`.  The forward map adds pixels into their lines; its adjoint, the *back-projection*,
# gives every pixel the sum of the values of its four lines.


class XRay(ganprior.operators.LinearOperator):
    """Sums of pixels along rows, columns, diagonals and anti-diagonals of an H x W image."""

    def __init__(self, size=28):
        i, j = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
        i, j = i.flatten(), j.flatten()
        lines = [i, size + j, 2 * size + (i - j + size - 1), 4 * size - 1 + (i + j)]
        super().__init__(m=6 * size - 2, in_shape=(1, size, size))
        self.register_buffer("lines", torch.stack(lines))  # (4, n): the line of each pixel

    def _forward(self, x):  # (B, n) -> (B, m)
        out = x.new_zeros(x.shape[0], self.m)
        for direction in self.lines:
            out.index_add_(1, direction, x)
        return out

    def _adjoint(self, y):  # (B, m) -> (B, n)
        return sum(y[:, direction] for direction in self.lines)


A = XRay()
print(A, A.shape)

# %%
# Check the adjoint
# -----------------
# The Lasso builds its dictionary from the adjoint, and a wrong adjoint fails silently, so check it:
# :func:`~ganprior.operators.dottest` compares :math:`\langle Ax, y\rangle` with
# :math:`\langle x, A^H y\rangle` for random :math:`x, y` and raises if they differ.

lhs, rhs = ganprior.operators.dottest(A)
print(f"<Ax, y> = {lhs:.6f}   <x, A^H y> = {rhs:.6f}")


class BrokenXRay(XRay):
    def _adjoint(self, y):  # forgets the diagonals
        return y[:, self.lines[0]] + y[:, self.lines[1]]


print("broken adjoint:", ganprior.operators.dottest(BrokenXRay(), raise_error=False))

# %%
# Operators compose with ``@`` and transpose with ``.H``; ``to_dense`` gives the matrix (for small
# operators).  Here is what the back-projection :math:`A^H A x` of a digit looks like: a blur along
# the four directions.

x = test
back = A.H(A(x)).reshape(x.shape)
recovery_grid([("digit", x), ("A^H A x (rescaled)", back / back.amax(dim=(1, 2, 3), keepdim=True))])

# %%
# Recover
# -------
# ``recover`` takes the new generator and the new operator like the bundled ones.  With a linear
# generator, CSGM is a regularised least-squares problem in :math:`z` -- convex, so one restart
# suffices; ``lam`` is the weight of the Gaussian latent prior :math:`\lambda\|z\|^2`.  The DCT
# Lasso uses the same operator through its adjoint.

y = A(x) + 0.1 * torch.randn(len(x), A.m, generator=torch.Generator().manual_seed(0))
x_pca = ganprior.recover(y, A, G, lam=1.0, restarts=1, steps=500, lr=0.1, seed=0)
x_dct = ganprior.recover(y, A, method="lasso-dct")
recovery_grid([("truth", x), ("PCA prior", x_pca.clamp(0, 1)), ("Lasso-DCT", x_dct)])
for name, xh in [("PCA prior", x_pca.clamp(0, 1)), ("Lasso-DCT", x_dct)]:
    print(f"{name:>10}: per-pixel MSE {ganprior.metrics.mse(xh, x).mean():.4f}")

# %%
# A generator with a uniform latent
# ---------------------------------
# Many public GANs -- Bora et al.'s DCGAN and most DCGAN ports -- were trained on latents drawn from
# :math:`\mathrm{Unif}[-1, 1]^k`, not :math:`\mathcal{N}(0, I)`.  Say so with
# ``Generator(..., latent="uniform")`` (also ``"truncated-normal"``, or a
# :class:`~ganprior.latent.LatentLaw` of your own): every latent method then takes its prior from
# that law :math:`p(z)`.  The restarts start from draws of :math:`p`; the penalty that ``lam``
# weighs is :math:`-2\log p(z)` (for the normal law the usual :math:`\|z\|^2`); and the latent
# stays in the support of :math:`p`.  For the uniform law :math:`\log p` is constant on the box and
# :math:`-\infty` outside, so the MAP problem is
#
# .. math:: \hat z = \arg\min_{z \in [-1, 1]^k} \|y - A G(z)\|^2,
#
# solved by projected gradient steps (each step is followed by clamping :math:`z` to the box), and
# ``lam`` weighs nothing.  Posterior sampling (``method="langevin"``) reflects its chains at the
# faces of the box.  Prior folders and training runs record the law in ``config.json``
# (``"latent"``), and :func:`ganprior.load_prior` reads it back.
#
# Here a small DCGAN of :mod:`ganprior.models` (random weights; its batch norm holds the statistics of
# uniform latents, as a trained one would) and 16 signals in its range, :math:`G(z^*)` with
# :math:`z^* \sim \mathrm{Unif}[-1, 1]^k`, measured with :math:`m = 200` Gaussian rows.  One
# restart of 300 Adam steps at lr 0.01 with ``lam=0`` recovers them to about 84 dB PSNR with the
# uniform law; the same budget started from :math:`\mathcal{N}(0, I)` and unconstrained stops at
# about 46 dB (``tests/solvers/test_latent_law.py`` checks at least 55 dB against below 50).

from ganprior.models.dcgan import DCGANGenerator28

net = DCGANGenerator28(latent_dim=20, width=8, seed=0)
for layer in net.modules():
    if isinstance(layer, torch.nn.BatchNorm2d):  # running statistics of uniform latents
        layer.reset_running_stats()
        layer.momentum = None
net.train()
with torch.no_grad():
    net(torch.rand(512, 20, generator=torch.Generator().manual_seed(1)) * 2 - 1)
G_unif = ganprior.Generator(net, data_range=(-1, 1), latent="uniform")
G_norm = ganprior.Generator(net, data_range=(-1, 1))  # the same network, the default normal law
x_star = G_unif.generate(G_unif.sample_latent(16, seed=2))
A200 = ganprior.operators.Gaussian(200, in_shape=G_unif.image_shape, seed=3)
budget = dict(method="csgm", restarts=1, steps=300, lr=0.01, lam=0.0, optimizer="adam", schedule="constant", seed=0)
for law, prior in (("uniform", G_unif), ("normal", G_norm)):
    x_hat = ganprior.recover(A200(x_star), A200, prior, **budget)
    mse = (x_hat - x_star).pow(2).flatten(1).mean(1)
    print(f"latent={law!r:>10}: PSNR {float((10 * torch.log10(4 / mse)).mean()):.1f} dB")

# %%
# The same two objects work with every part of the library: a GAN trained with
# :mod:`ganprior.training` is wrapped the same way (:doc:`plot_04_train_a_prior`), and an operator
# can be a dense matrix (:class:`~ganprior.operators.Matrix`), a mask, or a composition
# ``A @ B``.  A new *objective* -- a different loss on the latent -- is a
# :class:`~ganprior.LatentObjective`; see :doc:`/user_guide/engine`.
