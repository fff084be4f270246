"""Import every policy's configuration so its `register_subclass` runs. Add a line per new policy."""

from orchestrator.policies.act import configuration as _act  # noqa: F401
from orchestrator.policies.diffusion import configuration as _diffusion  # noqa: F401
from orchestrator.policies.mlp import configuration as _mlp  # noqa: F401
