"""Publishing the best policy to the Hugging Face Hub: token check before training, push (the card is model_card.py).

The endpoint is read from HF_ENDPOINT when each function is called (huggingface_hub reads it once, at import), so a
sweep can be pointed at a private Hub or at a local test server without re-importing anything. Tokens come from
HF_TOKEN or the `hf auth login` token file and never appear in messages, logs or the model card.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import NoReturn

import httpx2
from huggingface_hub import HfApi, constants, get_token
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

from orchestrator.errors import UserError, problem
from orchestrator.hub_env import hub_endpoint

logger = logging.getLogger(__name__)

WHOAMI_TIMEOUT_S = 15.0  # how long check_hub_access waits for the Hub before calling it unreachable
LOGIN_HINT = "set HF_TOKEN or run `hf auth login`"


def resolve_token() -> str | None:
    """The Hub token: HF_TOKEN, else the one huggingface_hub has stored (`hf auth login`); None when there is none."""
    return os.environ.get("HF_TOKEN", "").strip() or get_token()


def check_hub_access(repo_id: str) -> None:
    """Fail fast, before training, when the policy could not be pushed to `repo_id` afterwards.

    Raises UserError (field hub.repo_id) when there is no token, when the Hub rejects it (401), when it is a read-only
    token, when its user may not create repos under the repo's namespace, or when the endpoint cannot be reached.
    """
    endpoint = hub_endpoint()
    token = resolve_token()
    if token is None:
        _refuse(repo_id, f"pushing to {endpoint} needs a Hugging Face token: {LOGIN_HINT}")
    try:
        response = get_session().get(
            f"{endpoint}/api/whoami-v2", headers=build_hf_headers(token=token), timeout=WHOAMI_TIMEOUT_S
        )
        hf_raise_for_status(response)
    except HfHubHTTPError as err:
        status = err.response.status_code
        if status == 401:
            _refuse(repo_id, f"{endpoint} rejected the Hugging Face token (401: invalid or expired): {LOGIN_HINT}")
        _refuse(repo_id, f"{endpoint} answered {status} when checking the token: {scrub_secrets(str(err))}")
    except httpx2.HTTPError as err:
        _refuse(
            repo_id,
            f"cannot reach the Hugging Face Hub at {endpoint} ({type(err).__name__}: "
            f"{scrub_secrets(str(err))}); check the network, or HF_ENDPOINT if you set it",
        )
    me = response.json()
    if me.get("auth", {}).get("accessToken", {}).get("role") == "read":
        _refuse(repo_id, f"the Hugging Face token of {me['name']!r} is read-only: use a token with write access")
    namespace = repo_id.split("/", 1)[0]
    writable = [me["name"], *(org["name"] for org in me.get("orgs", []))]
    if namespace not in writable:
        _refuse(
            repo_id,
            f"the Hugging Face token belongs to {me['name']!r}, who cannot create repos under "
            f"{namespace!r}; allowed namespaces: {writable}",
        )
    logger.info("Hub access checked: %s can push to %s on %s", me["name"], repo_id, endpoint)


def push_to_hub(
    folder: Path,
    repo_id: str,
    private: bool = False,
    commit_message: str = "Upload the best policy of a robot-sweeps sweep",
) -> str:
    """Create the model repo if needed and upload every file of `folder` in one commit; return the repo URL."""
    endpoint = hub_endpoint()
    api = HfApi(endpoint=endpoint, token=resolve_token())
    repo_url = api.create_repo(repo_id, private=private, exist_ok=True)
    logger.info("Pushing %s to %s on %s", folder, repo_id, endpoint)
    commit = api.upload_folder(folder_path=folder, repo_id=repo_id, repo_type="model", commit_message=commit_message)
    logger.info("Pushed %s: %s", repo_id, commit.commit_url)
    return str(repo_url)


def scrub_secrets(text: str) -> str:
    """`text` with every known secret (HF_TOKEN, WANDB_API_KEY, the stored Hub token) replaced by "***"."""
    token_file = Path(constants.HF_TOKEN_PATH)
    stored = token_file.read_text().strip() if token_file.is_file() else None
    secrets = {os.environ.get("HF_TOKEN"), os.environ.get("WANDB_API_KEY"), resolve_token(), stored}
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _refuse(repo_id: str, message: str) -> NoReturn:
    raise UserError(problem("hub.repo_id", message, repo_id), title="cannot publish to the Hugging Face Hub")
