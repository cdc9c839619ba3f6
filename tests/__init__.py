"""The test suite; its helper modules get pytest's assertion rewriting, as conftest.py did when they lived there."""

import pytest

pytest.register_assert_rewrite("tests.apps", "tests.browser_support", "tests.factories", "tests.forms", "tests.smtp")
