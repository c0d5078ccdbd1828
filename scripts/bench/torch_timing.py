"""The timed loop the PyTorch bench scripts share (mobilenetv2_torch.py, conv_torch.py)."""

import time


def timed_steps(step, warmup, steps, max_seconds):
    """Runs `warmup` untimed steps, then up to `steps` timed ones (stopping after
    `max_seconds`); returns (steps done, seconds)."""
    for i in range(warmup):
        step(i)
    start = time.perf_counter()
    done = 0
    for i in range(steps):
        step(i)
        done += 1
        if time.perf_counter() - start > max_seconds:
            break
    return done, time.perf_counter() - start
