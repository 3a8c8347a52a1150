"""Analysis of runs and experiments (the model never imports this package)."""
