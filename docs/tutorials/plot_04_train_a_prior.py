"""
Train your own prior
====================

The bundled priors were made with ganprior's own GAN trainer.  Here we train a small DCGAN on
MNIST for a few hundred steps -- about a minute on a laptop CPU, against hours for a real prior --
and use it at once to recover digits from compressed measurements.  See
:doc:`/user_guide/training` for the losses and the recipe.
"""

# %%
# Data
# ----
# ganprior never downloads data.  :func:`~ganprior.data.load_mnist` reads the standard idx files
# from ``root`` or from ``$GANPRIOR_DATA/mnist/``; we take the first 6000 training digits.  On a
# machine without MNIST we fall back to 250 of the digits bundled with the package (a much weaker
# prior, but the code runs).

import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

import ganprior
from ganprior.data import load_mnist, load_sample
from ganprior.models import build_discriminator, build_generator
from ganprior.plotting import recovery_grid
from ganprior.training import Trainer

try:
    images = load_mnist(split="train")[0][:6000]
except FileNotFoundError:
    images = load_sample("mnist_test300")[:250]
print("training images:", tuple(images.shape))

# %%
# The models and the trainer
# --------------------------
# :func:`~ganprior.models.build_generator` makes the DCGAN generator for 28x28 images (latents of
# size 20, half the default width to be quick); its discriminator mirrors it.  The
# :class:`~ganprior.training.Trainer` defaults are the DCGAN recipe: the non-saturating loss, Adam
# with learning rate :math:`2\cdot10^{-4}` and :math:`\beta_1 = 0.5`, batch 64.  Every random draw
# comes from ``seed``, so this run is reproducible.  With an ``out_dir`` the trainer writes a loss
# log, sample grids, a checkpoint and, at the end, the exported weights.

G_net = build_generator("dcgan28", latent_dim=20, width=32, seed=0)
D_net = build_discriminator("dcgan28", width=32, seed=1)
run = Path(tempfile.mkdtemp(prefix="ganprior_run_"))
trainer = Trainer(G_net, D_net, images, loss="non-saturating", batch_size=64, seed=0, precision="auto", out_dir=run,
                  sample_every=0, checkpoint_every=0)
trainer.fit(steps=600)
print(f"{trainer.step} steps ({trainer.step * 64 / len(images):.1f} epochs) in {trainer.wall_time:.0f} s")
print(sorted(p.name for p in run.iterdir()))

# %%
# The loss log has one row per step: the discriminator's and the generator's losses, and the
# discriminator's mean logit on the real and on the generated batch.  At first the discriminator
# wins easily (its loss near zero, the generator's high); as the generator learns, the two move
# towards a balance and oscillate around it.  A discriminator loss stuck at zero means the run has
# failed.

log = np.genfromtxt(run / "log.csv", delimiter=",", names=True)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(log["step"], log["d_loss"], lw=0.7, label="discriminator loss")
ax.plot(log["step"], log["g_loss"], lw=0.7, label="generator loss")
ax.set_xlabel("step")
ax.legend()
fig.tight_layout()

# %%
# Samples from the fixed noise batch (the generator in eval mode):

recovery_grid([("samples", trainer.sample(12))])

# %%
# Use it as a prior
# -----------------
# The trained network outputs :math:`[-1, 1]` (``tanh``); :class:`ganprior.Generator` maps that to
# :math:`[0, 1]` images (the network declares ``output_range = (-1, 1)``) and reads the latent shape
# from the network.  Then it is a prior like any other.

G = ganprior.Generator(trainer.generator)
x = load_sample("mnist_test300")[-8:]  # digits not used for training
A = ganprior.operators.Gaussian(m=200, in_shape=G.image_shape, seed=0)
y = A(x) + 0.1 / 200**0.5 * torch.randn(len(x), 200, generator=torch.Generator().manual_seed(0))
x_ours = ganprior.recover(y, A, G, restarts=3, steps=300, lr=0.05, seed=0)
x_lasso = ganprior.recover(y, A, method="lasso-dct")
recovery_grid([("truth", x), ("our prior", x_ours), ("Lasso-DCT", x_lasso)])
for name, xh in [("our prior", x_ours), ("Lasso-DCT", x_lasso)]:
    print(f"{name:>10}: per-pixel MSE {ganprior.metrics.mse(xh, x).mean():.4f}")

# %%
# A few hundred steps already give a prior that competes with the Lasso at :math:`m = 200`; the
# bundled ``mnist`` prior was trained for many epochs on all 60,000 digits and does much better.
#
# Reload it later
# ---------------
# The run folder holds ``config.json`` (which records the architecture), the trainer's
# ``checkpoint.pt`` and the exported ``generator.pt`` and ``discriminator.pt``, so one line rebuilds
# the prior anywhere -- :func:`~ganprior.load_prior` takes a run folder as well as a bundled name
# (and :func:`ganprior.recover` takes the folder's path as its prior):

G_again = ganprior.load_prior(run)
z = G.sample_latent(4, seed=0)
print("same images:", torch.equal(G_again.generate(z), G.generate(z)))

# %%
# The command line does the same, and also runs data-parallel under ``torchrun``:
#
# .. code-block:: bash
#
#    ganprior train --data mnist --arch dcgan28 --latent-dim 20 --width 32 --steps 600 --bf16 --out runs/mnist
#    torchrun --standalone --nproc_per_node=2 -m ganprior.cli.train --data mnist --epochs 10 --out runs/mnist
#
# ``ganprior.load_prior("runs/mnist")`` then loads either run.  ``tools/build_prior.py`` turns a
# finished run into a bundled prior with its model card and its validated solver recipe.

shutil.rmtree(run)  # this run was only a demonstration
