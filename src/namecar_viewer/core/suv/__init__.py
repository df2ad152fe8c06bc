"""core/suv."""
