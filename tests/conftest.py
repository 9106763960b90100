import jax

jax.config.update("jax_enable_x64", True)


# The test files whose module fixtures run for minutes (the examples' smoke runs, the two-process
# runs). Two workers take whole files in collection order (--dist loadfile): started last, one of
# them would run alone at the end; started first, the short files fill the other worker meanwhile.
LONG_FILES = ("tests/test_examples.py", "tests/distributed/")


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: not item.nodeid.startswith(LONG_FILES))  # stable: each file keeps its order
