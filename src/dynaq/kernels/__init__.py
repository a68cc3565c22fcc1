"""numba-compiled kernels on plain arrays; the agents and runners are shells over them.

This package's own namespace imports no numba: it holds the names that the agents' configs
check their settings against, so that building a config does not compile or load a kernel.
"""

SAMPLINGS = ("uniform", "latest", "trajectory")
"""Planning distributions of Dyna-Q (:attr:`dynaq.kernels.dyna_q.DynaQParams.sampling`
holds the index: ``UNIFORM``, ``LATEST``, ``TRAJECTORY``)."""
