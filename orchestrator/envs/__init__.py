"""Simulators behind env configs."""
