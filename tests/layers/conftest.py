import pytest


@pytest.fixture(autouse=True, scope="session")
def _kernel_cache(request, tmp_path_factory):
    """Fused conv kernels built by the tests go to pytest's cache folder, not the user's."""
    import os

    try:
        folder = request.config.cache.mkdir("bilinear-kernels")
    except Exception:  # cache provider disabled
        folder = tmp_path_factory.mktemp("bilinear-kernels")
    old = os.environ.get("BILINEAR_KERNEL_CACHE")
    os.environ["BILINEAR_KERNEL_CACHE"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("BILINEAR_KERNEL_CACHE", None)
    else:
        os.environ["BILINEAR_KERNEL_CACHE"] = old
