"""Tests of the data: dataset readers, image loading, and the dataset jobs."""
