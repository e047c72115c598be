"""gamedream in PyTorch: the DiT, the VAE, the diffusion core, the DiT training task, the dataset
reader and action encoding of src/lib, with the same configs, weight names and layouts, and a
trainer launched by torchrun (gamedream_torch.train). Parity with src/lib is tested both ways
(python/tests/test_parity.py)."""
