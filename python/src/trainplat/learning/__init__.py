"""Transformer time-series classifier: training and evaluation task programs."""
