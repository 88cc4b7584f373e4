"""Faults injected into extraction workers (imported there by name: the spawned workers find
this module on the path pytest gives them).

`extract_chunk` is `fiscal_nlp.pipeline.extract_chunk` with one change inside the worker: a
document whose file name holds a fault's name does that fault instead of being read.
A test swaps it in with `monkeypatch.setattr(pipeline, "extract_chunk", faults.extract_chunk)`.
"""
from __future__ import annotations

import os
import signal
import time


def _kill(data, name, override=None):
    os.kill(os.getpid(), signal.SIGKILL)  # what the kernel's OOM killer does


def _exit(data, name, override=None):
    os._exit(3)  # a crash in native code that ends the process


def _hang(data, name, override=None):
    time.sleep(3600)


def _bloat(data, name, override=None):
    hog = bytearray(1 << 30)  # 1 GB, touched so that it is resident
    for i in range(0, len(hog), 4096):
        hog[i] = 1
    time.sleep(3600)


FAULTS = {"kill-worker": _kill, "exit-worker": _exit, "hang": _hang, "bloat": _bloat}


def extract_chunk(sources, lost=None):
    from fiscal_nlp import pipeline

    real = pipeline.__dict__.setdefault("_real_extract_records", pipeline.extract_records)

    def faulty(data, name, override=None):
        for prefix, fault in FAULTS.items():
            if prefix in name:
                return fault(data, name, override)
        return real(data, name, override)

    pipeline.extract_records = faulty  # in this worker process only
    return pipeline.extract_chunk(sources, lost)
