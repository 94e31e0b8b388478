"""Tests of ganprior.training: the GAN and VAE trainers, their losses, checkpoints and distributed runs."""
