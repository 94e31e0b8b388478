"""Tests of the priors: the Generator wrapper, the architectures, prior folders, recipes and families."""
