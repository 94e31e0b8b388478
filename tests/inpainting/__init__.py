"""Tests of semantic inpainting: the objective, the masks and the blending."""
