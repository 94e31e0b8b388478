"""The tests of ganprior, one folder per area of the package; tests/results checks the committed results."""
