"""Session fixtures of the camera-network and TensorFlow-file tests: fresh DeepRacer camera
policies with distinct action probabilities. The test files load this module as a plugin
(``pytest_plugins = ["camera_fixtures"]``)."""

from __future__ import annotations

import pytest
from tf_reference import DEEP, SHALLOW, make_policy


@pytest.fixture(scope="session")
def shallow_discrete():
    return make_policy(SHALLOW, False)


@pytest.fixture(scope="session")
def shallow_continuous():
    return make_policy(SHALLOW, True)


@pytest.fixture(scope="session")
def deep_discrete():
    return make_policy(DEEP, False, n_actions=7)
