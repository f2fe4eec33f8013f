import pytest

from derivcheck import REGISTRY, load_all


@pytest.fixture(scope="session")
def registry():
    return load_all(REGISTRY)
