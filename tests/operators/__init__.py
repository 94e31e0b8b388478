"""Tests of ganprior.operators: the operators, their numerics, the orthonormal bases and transforms."""
