"""PyTorch's semantics for the matrix products, the fused layers and the fused softmax
cross-entropy (issue 15): what each node saves for backward (so which in-place change after
it is refused), which dtypes and shapes matmul / mm / bmm / dot / mv take, and the checks of
an assigned ``.grad`` and of ``requires_grad``. Expected values come from NumPy or are
written out; the rules are PyTorch 2.13's."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
import tensorcore.nn.functional as F

RNG = np.random.default_rng(15)
A, B = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 4))
C = RNG.standard_normal((2, 4))  # the loss is sum(y * C): dL/dy = C


def _t(a, device, grad=False):
    return tc.tensor(a, dtype=tc.float64, device=device, requires_grad=grad)


class TestMatmulSaves:
    """``a @ b`` saves ``a`` only when ``b`` needs a gradient and ``b`` only when ``a`` does."""

    @pytest.mark.parametrize("changed", ["a", "b", "out"])
    @pytest.mark.parametrize("grads", [(True, True), (True, False), (False, True)],
                             ids=["both", "a", "b"])
    @pytest.mark.parametrize("op", ["matmul", "mm", "linear"])
    def test_in_place_change_after_the_product(self, device, op, grads, changed):
        a0, b0 = _t(A, device, grads[0]), _t(B if op != "linear" else B.T, device, grads[1])
        a, b = a0 * 1.0, b0 * 1.0
        y = {"matmul": lambda: a @ b, "mm": lambda: tc.mm(a, b),
             "linear": lambda: F.linear(a, b)}[op]()
        {"a": a, "b": b, "out": y}[changed].add_(1.0)
        # changing a is refused when b needs a gradient (its gradient reads a), and so on
        refused = {"a": grads[1], "b": grads[0], "out": False}[changed]
        loss = (y * _t(C, device)).sum()
        if refused:
            with pytest.raises(RuntimeError, match="modified by an inplace operation"):
                loss.backward()
            return
        loss.backward()
        if grads[0]:
            np.testing.assert_allclose(to_numpy(a0.grad), C @ B.T, rtol=1e-12)
        if grads[1]:
            want = A.T @ C
            np.testing.assert_allclose(to_numpy(b0.grad), want if op != "linear" else want.T,
                                       rtol=1e-12)

    @pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)),
                                        ((5, 2, 3), (3, 4))], ids=["dot", "mv", "vm", "batch"])
    def test_vectors_and_batches_save_only_the_other_operand(self, device, shapes):
        a_np = RNG.standard_normal(shapes[0])
        b_np = RNG.standard_normal(shapes[1])
        w = _t(b_np, device, True)
        x = _t(a_np, device)
        y = x @ w
        with tc.no_grad():
            w.add_(1.0)  # w is not saved (x needs no gradient): allowed, as in PyTorch
        y.sum().backward()
        # d sum(x @ w) / d w[k, ...] = the sum of x[..., k] over all its other dims
        s = a_np.reshape(-1, a_np.shape[-1]).sum(0)
        want = s if b_np.ndim == 1 else np.broadcast_to(s[:, None], b_np.shape)
        np.testing.assert_allclose(to_numpy(w.grad), want, rtol=1e-12)


class TestLinearActSaves:
    """The fused layer saves what PyTorch's linear + activation would: x when w needs a
    gradient, w when x does, the output for relu / sigmoid / tanh, never the bias."""

    @pytest.mark.parametrize("activation", [None, "relu", "gelu", "sigmoid", "tanh"])
    @pytest.mark.parametrize("changed", ["x", "w", "b", "out"])
    def test_in_place_change_after_the_layer(self, device, activation, changed):
        def run(change):
            x0 = _t(A, device, True)
            w0 = _t(B.T, device, True)
            b0 = _t(C[0], device, True)
            x, w, b = x0 * 1.0, w0 * 1.0, b0 * 1.0
            y = F.linear_act(x, w, b, activation)
            if change:
                {"x": x, "w": w, "b": b, "out": y}[changed].add_(1.0)
            (y * _t(C, device)).sum().backward()
            return [to_numpy(t.grad) for t in (x0, w0, b0)]

        refused = changed in ("x", "w") or (changed == "out"
                                           and activation in ("relu", "sigmoid", "tanh"))
        if refused:
            with pytest.raises(RuntimeError, match="modified by an inplace operation"):
                run(True)
            return
        for got, want in zip(run(True), run(False)):
            np.testing.assert_allclose(got, want, rtol=1e-12)

    def test_frozen_weight_then_changed_input(self, device):
        # w needs no gradient: x is not saved, w is; changing x is allowed
        x0 = _t(A, device, True)
        w = _t(B.T, device)
        x = x0 * 1.0
        y = F.linear_act(x, w, None, "tanh")
        x.add_(1.0)
        y.sum().backward()
        want = (1 - np.tanh(A @ B) ** 2) @ B.T
        np.testing.assert_allclose(to_numpy(x0.grad), want, rtol=1e-12)

    def test_create_graph_recomputes_and_checks_every_input(self, device):
        x0, w0 = _t(A, device, True), _t(B.T, device, True)
        b = _t(C[0], device)
        x, w = x0 * 1.0, w0 * 1.0
        y = F.linear_act(x, w, b, "gelu")
        (gx,) = tc.autograd.grad(y.sum(), x, create_graph=True)
        assert gx.requires_grad
        y = F.linear_act(x, w, b, "gelu")
        with tc.no_grad():
            b.add_(1.0)  # the bias is not saved, but the create_graph path reads it
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            tc.autograd.grad(y.sum(), x, create_graph=True)


class TestCrossEntropySaves:
    """As log_softmax + nll_loss: the targets are saved, the logits are not."""

    Z = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])

    def _want(self):
        p = np.exp(self.Z - self.Z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        p[[0, 1], [0, 2]] -= 1
        return p / 2

    def test_logits_changed_after_the_loss(self, device):
        z0 = _t(self.Z, device, True)
        z = z0 * 1.0
        loss = F.cross_entropy(z, tc.tensor([0, 2], device=device))
        z.add_(1.0)
        loss.backward()
        np.testing.assert_allclose(to_numpy(z0.grad), self._want(), rtol=1e-12)

    def test_targets_changed_after_the_loss(self, device):
        t = tc.tensor([0, 2], device=device)
        loss = F.cross_entropy(_t(self.Z, device, True), t)
        t[0] = 1  # would silently change the gradient: refused
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()

    def test_create_graph_checks_the_logits(self, device):
        z0 = _t(self.Z, device, True)
        z = z0 * 1.0
        loss = F.cross_entropy(z, tc.tensor([0, 2], device=device))
        (g,) = tc.autograd.grad(loss, z0, create_graph=True)
        np.testing.assert_allclose(to_numpy(g), self._want(), rtol=1e-12)
        loss = F.cross_entropy(z, tc.tensor([0, 2], device=device))
        z.add_(1.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            tc.autograd.grad(loss, z0, create_graph=True)


class TestMatmulDtypesAndShapes:
    @pytest.mark.parametrize("shapes", [((2, 2), (2, 2)), ((2,), (2,)), ((2, 2), (2,)),
                                        ((2, 2, 2), (2, 2))])
    def test_bool_refused(self, device, shapes):
        a, b = (tc.ones(s, dtype=tc.bool, device=device) for s in shapes)
        with pytest.raises(NotImplementedError, match="Bool"):
            a @ b

    def test_bool_refused_by_every_product(self, device):
        m = tc.ones(2, 2, dtype=tc.bool, device=device)
        for call in (lambda: tc.mm(m, m), lambda: tc.bmm(m[None], m[None]),
                     lambda: tc.dot(m[0], m[1]), lambda: tc.mv(m, m[0]),
                     lambda: F.linear(m, m)):
            with pytest.raises(NotImplementedError, match="Bool"):
                call()

    def test_empty_bool_product_computes_nothing(self, device):
        # PyTorch's empty GEMMs return before dispatching on the dtype
        out = tc.ones(2, 0, dtype=tc.bool, device=device) @ tc.ones(0, 3, dtype=tc.bool,
                                                                     device=device)
        assert out.shape == (2, 3) and not to_numpy(out).any()

    @pytest.mark.parametrize("dtype", [tc.int64, tc.int32])
    def test_integers_multiply_exactly(self, device, dtype):
        a = tc.tensor([[1, 2], [3, 4]], dtype=dtype, device=device)
        out = a @ a
        assert out.dtype == dtype and out.tolist() == [[7, 10], [15, 22]]
        assert tc.dot(a[0], a[1]).item() == 11

    @pytest.mark.parametrize("other", [tc.float64, tc.float16, tc.int64])
    def test_mixed_dtypes_refused(self, device, other):
        a = tc.ones(2, 2, device=device)
        with pytest.raises(RuntimeError, match="same dtype"):
            a @ tc.ones(2, 2, dtype=other, device=device)
        with pytest.raises(RuntimeError, match="same dtype"):
            a[0] @ tc.ones(2, dtype=other, device=device)

    @pytest.mark.parametrize("call,match", [
        (lambda d: tc.mm(tc.ones(3, device=d), tc.ones(3, 2, device=d)), "self must be a matrix"),
        (lambda d: tc.mm(tc.ones(2, 3, device=d), tc.ones(1, 3, 2, device=d)),
         "mat2 must be a matrix"),
        (lambda d: tc.mm(tc.ones(2, 3, device=d), tc.ones(2, 3, device=d)), "2x3 and 2x3"),
        (lambda d: tc.bmm(tc.ones(2, 3, device=d), tc.ones(3, 2, device=d)), "3D tensor"),
        (lambda d: tc.bmm(tc.ones(2, 2, 3, device=d), tc.ones(3, 3, 2, device=d)),
         r"batch2 tensor to be: \[2, 3\] but got: \[3, 3\]"),
        (lambda d: tc.dot(tc.ones(2, 2, device=d), tc.ones(2, 2, device=d)), "1D tensors"),
        (lambda d: tc.dot(tc.ones(3, device=d), tc.ones(2, device=d)), "inconsistent"),
        (lambda d: tc.mv(tc.ones(2, 3, device=d), tc.ones(2, device=d)), "size mismatch"),
        (lambda d: tc.mv(tc.ones(3, device=d), tc.ones(3, device=d)), "matrix @ vector"),
    ])
    def test_strict_shapes(self, device, call, match):
        with pytest.raises(RuntimeError, match=match):
            call(device)

    def test_values_and_keywords(self, device):
        a, b = _t(A, device), _t(B, device)
        np.testing.assert_allclose(to_numpy(tc.mm(a, mat2=b)), A @ B, rtol=1e-12)
        np.testing.assert_allclose(to_numpy(tc.matmul(input=a, other=b)), A @ B, rtol=1e-12)
        np.testing.assert_allclose(to_numpy(a.matmul(other=b)), A @ B, rtol=1e-12)
        np.testing.assert_allclose(to_numpy(tc.bmm(a[None], b[None])), (A @ B)[None],
                                   rtol=1e-12)
        np.testing.assert_allclose(to_numpy(tc.mv(a, b[:, 0])), A @ B[:, 0], rtol=1e-12)
        np.testing.assert_allclose(to_numpy(F.linear(input=a, weight=b.T, bias=None)), A @ B,
                                   rtol=1e-12)
        with pytest.raises(TypeError, match="'other' .* must be Tensor"):
            tc.matmul(a, [[1.0]])


class TestGradAssignment:
    """``.grad = g`` takes None or a Tensor of the tensor's dtype, device and shape."""

    def test_accepted(self, device):
        x = tc.ones(2, 3, device=device, requires_grad=True)
        g = tc.zeros(2, 3, device=device)
        x.grad = g
        assert x.grad is g
        x.grad = None
        assert x.grad is None
        x.grad = g
        del x.grad
        assert x.grad is None
        ints = tc.ones(2, dtype=tc.int64, device=device)
        ints.grad = tc.zeros(2, dtype=tc.int64, device=device)  # allowed in PyTorch too

    @pytest.mark.parametrize("bad,error,match", [
        (lambda d: tc.zeros(3, 2, device=d), RuntimeError, r"size '\[3, 2\]'.*size '\[2, 3\]'"),
        (lambda d: tc.zeros(3, device=d), RuntimeError, "same size"),  # would broadcast
        (lambda d: tc.zeros(2, 3, dtype=tc.float64, device=d), RuntimeError, "dtype"),
        (lambda d: tc.zeros(2, 3, dtype=tc.int64, device=d), RuntimeError, "dtype"),
        (lambda d: [[0.0] * 3] * 2, TypeError, "Tensor or None but got grad of type list"),
        (lambda d: np.zeros((2, 3), np.float32), TypeError, "ndarray"),
        (lambda d: 0.0, TypeError, "float"),
    ])
    def test_refused(self, device, bad, error, match):
        for x in (tc.ones(2, 3, device=device, requires_grad=True),
                  tc.ones(2, 3, device=device, requires_grad=True) * 2):  # non-leaf too
            with pytest.raises(error, match=match):
                x.grad = bad(device)
            assert x._grad is None

    def test_own_grad_refused(self, device):
        x = tc.ones(2, device=device, requires_grad=True)
        with pytest.raises(RuntimeError, match="its own grad"):
            x.grad = x

    def test_other_device_refused(self):
        if "cuda" not in {d for d, _ in __import__("conftest").CASES}:
            pytest.skip("no cuda device (nor the stand-in) registered")
        x = tc.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="device"):
            x.grad = tc.zeros(2, device="cuda")

    def test_non_leaf_grad_read_warns(self, device):
        y = tc.ones(2, device=device, requires_grad=True) * 2
        with pytest.warns(UserWarning, match="not a leaf"):
            assert y.grad is None
        y.retain_grad()
        y.sum().backward()
        assert y.grad.tolist() == [1.0, 1.0]


class TestRequiresGradFlag:
    @pytest.mark.parametrize("value", [1, 0, None, "yes", np.bool_(True)])
    def test_only_a_bool(self, device, value):
        x = tc.ones(2, device=device)
        with pytest.raises(RuntimeError, match="requires_grad must be a bool"):
            x.requires_grad = value
        with pytest.raises(TypeError, match="must be bool"):
            x.requires_grad_(value)
        with pytest.raises(TypeError, match="must be bool"):
            tc.tensor([1.0], device=device, requires_grad=value)
        assert not x.requires_grad

    def test_non_leaf_flag_fixed(self, device):
        y = tc.ones(2, device=device, requires_grad=True) * 2
        for value in (True, False):
            with pytest.raises(RuntimeError, match="leaf variables"):
                y.requires_grad = value
        assert y.requires_grad_(True) is y
