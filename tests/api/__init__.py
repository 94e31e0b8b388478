"""Tests of the house rules: layout, deprecations, docstrings, documentation, input validation."""
