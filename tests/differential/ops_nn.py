"""Op tables: ``nn.functional`` beyond the basics: the activations of the table's second part
(mish, hardtanh, relu6, hardsigmoid, hardswish, logsigmoid, softsign, tanhshrink, prelu),
normalize, cosine_similarity, pairwise_distance, pad, embedding, kl_div and
smooth_l1_loss."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from .harness import Arr, Case, Op
from .ops_elementwise import ACT_DTYPES, functional, inplace, kw, unary_case
from .strategies import (
    FLOATS,
    SEEDS,
    arrays,
    broadcast_shapes,
    floats_arrays,
    one_dim,
    shapes,
)

PS = st.sampled_from((2.0, 2, 1.0, 3.0, 0.5, math.inf, 0))


@st.composite
def normalize_case(draw):
    x = draw(arrays(shapes(), dtypes=ACT_DTYPES))
    kwargs = {}
    if draw(st.booleans()):
        kwargs["p"] = draw(PS)
    if draw(st.booleans()):
        kwargs["dim"] = draw(one_dim(x.value.ndim))
    if draw(st.booleans()):
        kwargs["eps"] = draw(st.sampled_from((1e-12, 0.1, 1.0)))
    return Case((x,), kwargs, seed=draw(SEEDS))


@st.composite
def two_tensor_case(draw, extra, dtypes=("float32", "float32", "float64", "int64")):
    """Two broadcasting tensors (x1, x2) and keywords drawn from ``extra(ndim)``."""
    sa, sb = draw(broadcast_shapes())
    a = draw(arrays(sa, dtypes=dtypes))
    b = draw(arrays(sb, dtypes=(a.value.dtype.name,) * 3 + dtypes))
    ndim = max(a.value.ndim, b.value.ndim)
    return Case((a, b), draw(extra(ndim)), seed=draw(SEEDS))


def cosine_kw(ndim):
    return kw(dim=one_dim(ndim), eps=st.sampled_from((1e-8, 0.5)))


def pairwise_kw(ndim):
    return kw(p=PS, eps=st.sampled_from((1e-6, 0.0, 0.5)), keepdim=st.booleans())


@st.composite
def pad_case(draw):
    x = draw(arrays(shapes(0, 3), dtypes=("float32", "float32", "float64", "int64", "bool")))
    n = draw(st.integers(0, max(x.value.ndim, 1)))
    widths = st.integers(-2, 3) if draw(st.integers(0, 3)) else st.integers(0, 2)
    pad = tuple(draw(st.lists(widths, min_size=2 * n, max_size=2 * n)))
    if draw(st.integers(0, 19)) == 0:
        pad = pad + (1,)
    kwargs = {}
    if draw(st.booleans()):
        kwargs["value"] = draw(st.sampled_from((0, 1.5, -2, 0.0)))
    return Case((x, pad), kwargs, seed=draw(SEEDS))


@st.composite
def pad_mode_case(draw):
    """reflect / replicate / circular: 1-3 padded dims on a tensor of one or two more."""
    npad = draw(st.integers(1, 3))
    rank = npad + draw(st.integers(1, 2))
    x = draw(floats_arrays(shapes(rank, rank, sides=st.sampled_from((1, 2, 3, 4)))))
    pad = tuple(draw(st.lists(st.integers(0, 3), min_size=2 * npad, max_size=2 * npad)))
    mode = draw(st.sampled_from(("reflect", "replicate", "circular")))
    return Case((x, pad), {"mode": mode}, seed=draw(SEEDS))


@st.composite
def embedding_case(draw):
    rows = draw(st.integers(1, 5))
    weight = draw(floats_arrays((rows, draw(st.integers(0, 3)))))
    shape = draw(shapes(0, 2))
    rng = np.random.default_rng(draw(SEEDS))
    high = rows + (1 if draw(st.integers(0, 9)) == 0 else 0)
    dtype = draw(st.sampled_from(("int64", "int64", "int32", "float32")))
    idx = Arr(rng.integers(0, high, shape).astype(dtype))
    kwargs = {}
    if draw(st.booleans()):
        kwargs["padding_idx"] = draw(st.integers(-rows, rows - 1))
    return Case((idx, weight), kwargs, seed=draw(SEEDS))


@st.composite
def kl_div_case(draw):
    sa, sb = draw(broadcast_shapes())
    if draw(st.integers(0, 5)):
        sb = sa
    x = draw(arrays(sa, dtypes=FLOATS))
    t = draw(arrays(sb, dtypes=(x.value.dtype.name,),
                    profiles=("positive", "positive", "halves", "normal", "special")))
    kwargs = draw(kw(reduction=st.sampled_from(("mean", "sum", "none", "batchmean")),
                     log_target=st.booleans()))
    return Case((x, t), kwargs, seed=draw(SEEDS))


@st.composite
def prelu_case(draw):
    x = draw(arrays(shapes(), dtypes=FLOATS))
    ch = x.value.shape[1] if x.value.ndim >= 2 else (x.value.shape[0] if x.value.ndim else 1)
    n = 1 if draw(st.booleans()) else ch + (1 if draw(st.integers(0, 9)) == 0 else 0)
    w = draw(arrays((n,), dtypes=(x.value.dtype.name,)))
    return Case((x, w), seed=draw(SEEDS))


@st.composite
def smooth_l1_case(draw):
    s = draw(shapes())
    a = draw(arrays(s, dtypes=FLOATS))
    b = draw(arrays(s, dtypes=(a.value.dtype.name,)))
    kwargs = draw(kw(reduction=st.sampled_from(("mean", "sum", "none")),
                     beta=st.sampled_from((1.0, 0.5, 0.0, 2))))
    return Case((a, b), kwargs, seed=draw(SEEDS))


OPS = [
    Op("F.mish", **functional("mish"), args=unary_case(ACT_DTYPES, kw=kw(inplace=inplace))),
    Op("F.hardtanh", **functional("hardtanh"), args=unary_case(ACT_DTYPES, kw=kw(
        min_val=st.sampled_from((-1.0, 0.0, -0.5, 2.0)), max_val=st.sampled_from((1.0, 1.5, 3)),
        inplace=inplace))),
    Op("F.relu6", **functional("relu6"), args=unary_case(ACT_DTYPES, kw=kw(inplace=inplace))),
    Op("F.hardsigmoid", **functional("hardsigmoid"),
       args=unary_case(ACT_DTYPES, kw=kw(inplace=inplace))),
    Op("F.hardswish", **functional("hardswish"),
       args=unary_case(ACT_DTYPES, kw=kw(inplace=inplace))),
    Op("F.logsigmoid", **functional("logsigmoid"), args=unary_case(ACT_DTYPES)),
    Op("F.softsign", **functional("softsign"), args=unary_case(ACT_DTYPES)),
    Op("F.tanhshrink", **functional("tanhshrink"), args=unary_case(ACT_DTYPES)),
    Op("F.prelu", **functional("prelu"), args=prelu_case()),
    Op("F.normalize", **functional("normalize"), args=normalize_case()),
    Op("F.cosine_similarity", **functional("cosine_similarity"),
       args=two_tensor_case(cosine_kw)),
    Op("F.pairwise_distance", **functional("pairwise_distance"),
       args=two_tensor_case(pairwise_kw, dtypes=FLOATS)),
    Op("F.pad", **functional("pad"), args=pad_case()),
    Op("F.pad(mode)", **functional("pad"), args=pad_mode_case()),
    Op("F.embedding", **functional("embedding"), args=embedding_case()),
    Op("F.kl_div", **functional("kl_div"), args=kl_div_case()),
    Op("F.smooth_l1_loss", **functional("smooth_l1_loss"), args=smooth_l1_case()),
]
