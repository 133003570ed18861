"""Setting up a home: the wizard's files (``bitrouter.yaml``, ``.env``, backups) and the
background server.

Typical use from the CLI::

    keys = provider_keys(load_catalog(), os.environ, read_dotenv_values(home / ".env"))
    update_dotenv(home / ".env", {"OPENAI_API_KEY": typed})
    saved = save_config(home, config_mapping(choices, read_config_mapping(home)))
    status = ServerProcess(home, "http://127.0.0.1:8787").start()
"""

from gateway.setup._config import (
    CONFIG_FILE,
    RemoteChoice,
    SavedConfig,
    SetupChoices,
    check_config,
    config_mapping,
    read_config_mapping,
    save_config,
)
from gateway.setup._daemon import PID_FILE, ServerProcess, ServerStatus, check_health
from gateway.setup._dotenv import read_dotenv_values, update_dotenv
from gateway.setup._files import backup_file, write_atomic
from gateway.setup._keys import FEATURED_PROVIDERS, ProviderKey, provider_keys

__all__ = [
    "CONFIG_FILE",
    "FEATURED_PROVIDERS",
    "PID_FILE",
    "ProviderKey",
    "RemoteChoice",
    "SavedConfig",
    "ServerProcess",
    "ServerStatus",
    "SetupChoices",
    "backup_file",
    "check_config",
    "check_health",
    "config_mapping",
    "provider_keys",
    "read_config_mapping",
    "read_dotenv_values",
    "save_config",
    "update_dotenv",
    "write_atomic",
]
