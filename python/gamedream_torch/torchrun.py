"""`torchrun` itself (torch.distributed.run: same flags, same rendezvous, single- and multi-node)
with one compatibility fix: PyTorch before 2.0 on Python 3.11 (Debian 12's python3-torch 1.13)
parses `--redirects`/`--tee` into None, because Python 3.11 no longer lists the zero member of an
IntFlag, and every launch fails with "'NoneType' object has no attribute 'get'". The fix builds the
flag from its integer. Where `torchrun` works (PyTorch >= 2.0), use it directly; the arguments are
the same:

    python3 -m gamedream_torch.torchrun --nproc_per_node=2 -m gamedream_torch.train ...
"""
from __future__ import annotations

import re

from torch.distributed.elastic.multiprocessing import api


def _from_str(cls, vm: str):
    if re.match(api._VALUE_REGEX, vm):
        return cls(int(vm))
    if re.match(api._MAPPING_REGEX, vm):
        return {int(i): cls(int(v)) for i, v in (m.split(":") for m in vm.split(","))}
    raise ValueError(f"{vm} does not match: <{api._VALUE_REGEX}> or <{api._MAPPING_REGEX}>")


def patch() -> None:
    if api.Std.from_str("0") is None:
        api.Std.from_str = classmethod(_from_str)


if __name__ == "__main__":
    patch()
    from torch.distributed.run import main

    main()
