"""Simulators behind env configs.

`configs` is imported first whatever module a caller names: it defines the EnvConfig base, then imports every
simulator module (each registers its config on import), so importing e.g. `orchestrator.envs.pusht` first
cannot meet a half-initialized base.
"""

from orchestrator.envs import configs  # noqa: F401
