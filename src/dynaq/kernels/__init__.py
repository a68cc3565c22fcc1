"""numba-compiled kernels on plain arrays; the agents and runners are shells over them."""
