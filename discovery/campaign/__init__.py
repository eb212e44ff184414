"""Campaigns: many searches from one spec, on all cores or a Dask cluster, safe to stop."""
