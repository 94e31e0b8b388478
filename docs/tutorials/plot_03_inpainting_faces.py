"""
Inpainting faces
================

Fill a hole in a face with a GAN prior, following [Yeh2017]_: find the latent whose image agrees
with the pixels around the hole (a *weighted contextual loss*) and that the discriminator finds
real (a *perceptual loss*), then blend it into the known pixels (*Poisson blending*).  See
:doc:`/user_guide/inpainting` for the mathematics.
"""

# %%
# Faces and masks
# ---------------
# The bundled ``celeba64`` prior makes :math:`64 \times 64` faces from 100-dimensional latents; its
# discriminator comes with it.  The test faces are the 64 of the CSGM paper.  A mask holds 1 on known
# pixels and 0 on missing ones; :mod:`ganprior.masks` makes the paper's four types.

import torch

import ganprior
from ganprior import blending, masks
from ganprior.data import load_sample
from ganprior.plotting import recovery_grid
from ganprior.solvers.inpainting import weighted_mask

G = ganprior.load_prior("celeba64")
D = ganprior.load_discriminator("celeba64")
faces = load_sample("celeba_test64")[:4]  # (4, 3, 64, 64) in [0, 1]

kinds = ["center", "random", "half", "pattern"]
examples = torch.stack([masks.make_mask(kind, (3, 64, 64), seed=0) for kind in kinds])
recovery_grid([("mask", examples), ("masked", faces[0] * examples + 0.5 * (1 - examples))])

# %%
# The weighted contextual loss
# ----------------------------
# Pixels far from the hole say little about what fills it.  Each known pixel is weighted by the
# fraction of its :math:`7 \times 7` window that is missing, so only a rim around the hole counts.

mask = masks.center_mask((3, 64, 64))  # the central 32 x 32 block is missing
W = weighted_mask(mask, window=7)
recovery_grid([("mask M", mask[None]), ("W / max W", W[None] / W.max())], scale=1.5)

# %%
# Inpainting
# ----------
# One call inpaints the four faces: each is a problem with two random starts, all in one batch.
# ``perceptual_weight`` weighs the perceptual loss :math:`\log(1 - D(G(z)))`; the latents stay in
# :math:`[-1, 1]^{100}`.  The paper runs 1000 to 3000 steps; we run 150 with a larger step size.

res = ganprior.inpaint(faces, mask, G, D, perceptual_weight=0.003, window=7, blend="poisson", restarts=2, steps=150,
                       lr=0.03, seed=0, precision="auto", return_result=True)
print("contextual loss per face:", [round(v, 2) for v in res.contextual_loss.tolist()])
print("perceptual loss per face:", [round(v, 4) for v in res.perceptual_loss.tolist()])

# %%
# Blending
# --------
# :math:`G(\hat z)` matches the known pixels only roughly.  Pasted into the hole it leaves a seam;
# Poisson blending keeps the known pixels and takes only the *gradients* of :math:`G(\hat z)`
# inside the hole, so colours meet smoothly.  The classical baseline, the harmonic fill, needs no
# prior and blurs the hole.

masked = faces * mask + 0.5 * (1 - mask)
pasted = blending.alpha_blend(faces, res.generated, mask)
harmonic = blending.harmonic_fill(faces, mask)
recovery_grid([("masked", masked), ("G(z)", res.generated), ("pasted", pasted), ("Poisson", res.x),
               ("harmonic fill", harmonic), ("truth", faces)], scale=1.2)

# %%
# Inside the hole the truth is unknowable -- many faces share these cheeks and this forehead -- so
# pixel errors measure plausibility only loosely.  They still show what the blending does:

for name, xh in [("G(z)", res.generated), ("pasted", pasted), ("Poisson", res.x), ("harmonic", harmonic)]:
    print(f"{name:>9}: PSNR {ganprior.metrics.psnr(xh, faces).mean():5.2f} dB   "
          f"SSIM {ganprior.metrics.ssim(xh, faces).mean():.3f}")
