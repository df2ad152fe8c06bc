"""core/recist."""
