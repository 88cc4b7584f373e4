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
import zlib


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


def decompression_bomb_pdf(inflated_mb: int) -> bytes:
    """A one-page PDF whose content stream inflates to `inflated_mb` MB of zero bytes (~1 MB on disk)."""
    comp = zlib.compressobj(9)
    zeros = bytes(1 << 20)
    stream = b"".join([comp.compress(zeros) for _ in range(inflated_mb)] + [comp.flush()])
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream"]
    pdf, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, 1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(pdf)


def sleep_then_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()
