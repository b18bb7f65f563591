"""Architecture explorer engine."""
