"""gamedream in PyTorch: the DiT, the VAE, the diffusion core, the DiT training task, the dataset
reader and action encoding of src/lib, with the same configs, weight names and layouts, and a
trainer launched by torchrun (gamedream_torch.train). Parity with src/lib is tested both ways
(python/tests/test_parity.py)."""

import os as _os

# CPU threading, set before torch loads OpenMP/OpenBLAS (a user's own settings win): torch's
# intra-op threads (torch.set_num_threads, the trainer's --threads) do the parallel work, so BLAS
# calls inside them stay single-threaded instead of oversubscribing the cores; and idle OpenMP
# threads sleep instead of spinning, which on a shared 2-core machine turned a 0.1 s step into 3-5 s.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
