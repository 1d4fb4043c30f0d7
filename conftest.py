import pytest


def pytest_addoption(parser):
    parser.addoption("--run-heavy", action="store_true", default=False, help="run slow fault/scale tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-heavy"):
        return
    skip = pytest.mark.skip(reason="heavy: run with --run-heavy (.ci/run does on PostgreSQL)")
    for item in items:
        if "heavy" in item.keywords:
            item.add_marker(skip)
