"""Training: fit() as a generator of progress events, background jobs, checkpoints, settings."""
