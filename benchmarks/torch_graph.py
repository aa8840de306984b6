"""PyTorch's whole-step CUDA graph, the reference a captured or compiled tensorcore step is
measured against (``gpu_report.py``'s ``torch-cuda+graph`` column).

The pattern of PyTorch's CUDA graphs documentation, "whole network capture": warm the step
up on a side stream (lazy initialisations, cuBLAS workspaces, allocator pools), capture
forward, backward and the optimizer update once into a ``torch.cuda.CUDAGraph`` with static
input and target tensors, then replay it after copying each new batch into those tensors.
"""

from __future__ import annotations


def capture_step(torch, step, static_inputs, warmup: int = 2):
    """A zero-argument callable replaying ``step`` (forward + backward + update, reading
    ``static_inputs``) as one CUDA graph; ``warmup`` real steps run first, on a side stream,
    so the weights have moved that many steps when the replays start. Each replay copies a
    batch (a copy of the inputs taken before the warm-up: the same data the eager columns
    train on every step) into ``static_inputs`` and returns the captured step's output."""
    batches = [t.clone() for t in static_inputs]
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(warmup):
            step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    # the step sets each .grad to None after its update, so backward allocates the gradients
    # from the graph's private pool during the capture (as zero_grad(set_to_none=True) does)
    with torch.cuda.graph(graph):
        static_out = step()

    def replay():
        for static, batch in zip(static_inputs, batches, strict=True):
            static.copy_(batch)
        graph.replay()
        return static_out

    return replay
