"""Searching a space: the decision code a sweep hands to Ray Tune."""
