"""Deep tests run on one torch thread: the machine is shared and these MLPs are tiny."""

try:
    import torch
except ImportError:  # the torch tests skip themselves
    pass
else:
    torch.set_num_threads(1)
