import os

import jax

jax.config.update("jax_enable_x64", True)


def pytest_configure(config):
    """The default run compiles with JAX's ``jax_disable_most_optimizations`` (LLVM at -O0).

    The tests' systems are tiny, so most of their time on a CPU is XLA compiling programs that
    then run for milliseconds; the unoptimised code generation saves about a third of the
    default run. HLO-level passes (fusion, layout) are unchanged. The environment variable makes
    the subprocesses (command line, examples, several JAX processes) do the same. Runs that select
    their own markers (``-m slow``: longer trainings) keep the optimised code, and so does any run
    with ``JAX_DISABLE_MOST_OPTIMIZATIONS=0`` in its environment.
    """
    if config.getoption("markexpr", "") != "not slow":
        return
    os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")
    jax.config.update("jax_disable_most_optimizations", os.environ["JAX_DISABLE_MOST_OPTIMIZATIONS"] == "1")
