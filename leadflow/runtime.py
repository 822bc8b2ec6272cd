"""What the product caches per process (settings, AWS clients, connections, rule sets, the
predictive model), and the one way to forget it: when the same process moves to another AWS
emulator, as the tests and the in-process local stack do. Lambda never needs it."""

from __future__ import annotations


def reset_process_caches() -> None:
    from leadflow.adapters import keys, mailer
    from leadflow.adapters.aws import reset_clients
    from leadflow.services import config, predictive
    from leadflow.settings import get_settings
    from leadflow.store.models import reset_connections

    get_settings.cache_clear()
    reset_clients()
    mailer.reset_clients()
    keys.reset()
    config.clear_cache()
    predictive.clear_cache()
    reset_connections()
