"""PruneBench harness: GLUE tasks, data, models, the training loop, measurement and result records."""

__version__ = "0.1.0"
