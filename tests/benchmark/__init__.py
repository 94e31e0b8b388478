"""Tests of ganprior.benchmark (search, run store, report, command line) and of the metrics it reports."""
