"""Simulators behind env configs.

`configs` is imported whatever module a caller names: it imports every simulator module (each registers its config
on import), so `--env.type` knows every simulator even when only e.g. `orchestrator.envs.rollout` was imported.
"""

from orchestrator.envs import configs  # noqa: F401
