"""Campaigns: many searches from one spec, on all cores or a Dask cluster, safe to stop.

* :mod:`~discovery.campaign.spec` -- the TOML spec, validated field by field;
* :mod:`~discovery.campaign.units` -- work units and their seeds;
* :mod:`~discovery.campaign.worker` -- what a worker runs (the search front door);
* :mod:`~discovery.campaign.journal` -- the append-only journal of finished units;
* :mod:`~discovery.campaign.executors` -- process pool and Dask behind ``concurrent.futures``;
* :mod:`~discovery.campaign.runner` -- the coordinator: :func:`run_campaign`, :func:`campaign_status`.

The names below are resolved on first use, so that a pool worker importing
:mod:`~discovery.campaign.worker_init` does not load the search engines first.
"""

import importlib as _importlib

_LAZY = {
    "load_spec": "discovery.campaign.spec",
    "parse_spec": "discovery.campaign.spec",
    "CampaignSpec": "discovery.campaign.spec",
    "JobSpec": "discovery.campaign.spec",
    "SpecError": "discovery.campaign.spec",
    "run_campaign": "discovery.campaign.runner",
    "campaign_status": "discovery.campaign.runner",
    "CampaignProgress": "discovery.campaign.runner",
    "CampaignReport": "discovery.campaign.runner",
    "unit_seed": "discovery.campaign.units",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    """Resolve the names of :data:`_LAZY` (PEP 562)."""
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'discovery.campaign' has no attribute {name!r}") from None
    return getattr(_importlib.import_module(module), name)
