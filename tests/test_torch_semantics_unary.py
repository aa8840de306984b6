"""PyTorch's semantics for the elementwise ops of one tensor and the activations (issue 15):
what a node saves for backward (so which in-place change after it is refused), the zero
gradient of the piecewise constant ops, the gradients at singular points and with NaN, and
which dtypes each op takes. Expected values are written out or computed with NumPy; the
rules are PyTorch 2.13's, checked op by op when these tests were written."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
import tensorcore.nn.functional as F

X = np.array([0.5, 1.5, 0.3])  # positive: every op below is defined and smooth here
_erf = np.vectorize(math.erf)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# op -> (what its node saves, its derivative at x). "input": an in-place change of the
# input after the op makes backward raise; "output": a change of the output does; None:
# neither does (PyTorch's derivatives.yaml, as measured in PyTorch 2.13).
UNARY = {
    "abs": ("input", np.sign),
    "exp": ("output", np.exp),
    "log": ("input", lambda x: 1 / x),
    "log1p": ("input", lambda x: 1 / (1 + x)),
    "sqrt": ("output", lambda x: 0.5 / np.sqrt(x)),
    "rsqrt": ("output", lambda x: -0.5 * x ** -1.5),
    "sin": ("input", np.cos),
    "cos": ("input", lambda x: -np.sin(x)),
    "tanh": ("output", lambda x: 1 - np.tanh(x) ** 2),
    "sigmoid": ("output", lambda x: _sigmoid(x) * (1 - _sigmoid(x))),
    "relu": ("output", lambda x: (x > 0).astype(float)),
    "erf": ("input", lambda x: 2 / math.sqrt(math.pi) * np.exp(-x * x)),
    "square": ("input", lambda x: 2 * x),
    "sign": (None, np.zeros_like),
    "floor": (None, np.zeros_like),
    "ceil": (None, np.zeros_like),
    "round": (None, np.zeros_like),
    "trunc": (None, np.zeros_like),
}


class TestSavedForBackward:
    """A node saves what its backward reads, and only that is version-checked."""

    @pytest.mark.parametrize("changed", ["input", "output"])
    @pytest.mark.parametrize("name", sorted(UNARY))
    def test_unary_op_refuses_exactly_the_change_of_what_it_saved(self, device, name, changed):
        saves, derivative = UNARY[name]
        x = tc.tensor(X, dtype=tc.float64, device=device, requires_grad=True)
        z = x * 1.0  # a non-leaf: it may be changed in place
        y = getattr(z, name)()
        (z if changed == "input" else y).add_(1.0)
        if saves == changed:
            with pytest.raises(RuntimeError, match="modified by an inplace operation"):
                y.sum().backward()
            return
        y.sum().backward()  # the gradient at the values the op saw, not the changed ones
        np.testing.assert_allclose(to_numpy(x.grad), derivative(X), rtol=1e-12)

    @pytest.mark.parametrize("changed", ["input", "output"])
    @pytest.mark.parametrize("name,saves", [
        ("leaky_relu", "input"), ("elu", "input"), ("gelu", "input"), ("silu", "input"),
        # softplus is composed of ops that save intermediates only: an in-place change of its
        # input is accepted (PyTorch refuses it) and the gradient is the one of the values
        # the op saw (docs/differences-from-pytorch.md)
        ("softplus", None), ("relu", "output"), ("sigmoid", "output"), ("tanh", "output"),
    ])
    def test_activation_refuses_exactly_the_change_of_what_it_saved(self, device, name, saves,
                                                                    changed):
        fn = getattr(F, name)
        x = tc.tensor([-1.5, 0.3, 2.0], dtype=tc.float64, device=device, requires_grad=True)
        want = tc.autograd.grad(fn(x * 1.0).sum(), x)[0]  # no in-place change
        z = x * 1.0
        y = fn(z)
        (z if changed == "input" else y).add_(0.5)
        if saves == changed:
            with pytest.raises(RuntimeError, match="modified by an inplace operation"):
                y.sum().backward()
            return
        y.sum().backward()
        np.testing.assert_allclose(to_numpy(x.grad), to_numpy(want), rtol=1e-12)

    @pytest.mark.parametrize("changed,raises", [("input", True), ("target", True),
                                                ("loss", False)])
    def test_mse_loss_saves_input_and_target(self, device, changed, raises):
        x = tc.tensor([1.0, 2.0, 4.0], dtype=tc.float64, device=device, requires_grad=True)
        t0 = tc.tensor([0.0, 3.0, 1.0], dtype=tc.float64, device=device, requires_grad=True)
        z, t = x * 1.0, t0 * 1.0
        loss = F.mse_loss(z, t, reduction="none")
        {"input": z, "target": t, "loss": loss}[changed].add_(1.0)
        if raises:
            with pytest.raises(RuntimeError, match="modified by an inplace operation"):
                loss.sum().backward()
            return
        loss.sum().backward()
        np.testing.assert_allclose(to_numpy(x.grad), [2.0, -2.0, 6.0])
        np.testing.assert_allclose(to_numpy(t0.grad), [-2.0, 2.0, -6.0])

    def test_masked_fill_saves_the_mask_not_the_input(self, device):
        x = tc.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
        z = x * 1.0
        y = z.masked_fill(tc.tensor([True, False, True], device=device), 0.0)
        z.add_(1.0)  # allowed: the input is not saved
        (y * tc.tensor([5.0, 6.0, 7.0], device=device)).sum().backward()
        assert to_numpy(x.grad).tolist() == [0.0, 6.0, 0.0]
        mask = tc.tensor([True, False, True], device=device)
        y = (x * 1.0).masked_fill(mask, 0.0)
        mask[1] = True  # the mask is saved: its change is refused, not silently used
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()

    def test_a_chain_after_an_in_place_change_runs(self, device):
        x = tc.tensor([1.0, 2.0, 3.0, 4.0], device=device, requires_grad=True)
        z = x * 2.0
        w = z.exp().sqrt()  # exp and sqrt save their outputs, not z
        z.add_(1.0)
        w.sum().backward()
        np.testing.assert_allclose(to_numpy(x.grad), np.exp(np.arange(1, 5)), rtol=1e-6)


class TestPiecewiseConstant:
    """sign, floor, ceil, round and trunc: a zero gradient (PyTorch), not a refusal."""

    @pytest.mark.parametrize("name", ["sign", "floor", "ceil", "round", "trunc"])
    def test_zero_gradient_and_a_node(self, device, name):
        x = tc.tensor([-1.5, 0.0, 0.5, 2.5], device=device, requires_grad=True)
        y = getattr(tc, name)(x)
        assert y.requires_grad and y.grad_fn.name() == f"{name.capitalize()}Backward0"
        (y * x).sum().backward()  # d/dx (f(x) * x) = f(x) where f' = 0
        np.testing.assert_array_equal(to_numpy(x.grad), to_numpy(y))

    def test_zero_gradient_is_zero_even_for_an_infinite_incoming_one(self, device):
        x = tc.tensor([0.0, 4.0], dtype=tc.float64, device=device, requires_grad=True)
        x.floor().backward(tc.tensor([math.inf, math.nan], dtype=tc.float64, device=device))
        assert to_numpy(x.grad).tolist() == [0.0, 0.0]

    def test_round_with_decimals_as_pytorch(self, device):
        x = tc.tensor([1.2345, -2.5, 0.125, 1234.5], dtype=tc.float64, device=device,
                      requires_grad=True)
        np.testing.assert_allclose(to_numpy(tc.round(x, decimals=2)),
                                   [1.23, -2.5, 0.12, 1234.5])
        np.testing.assert_allclose(to_numpy(x.round(decimals=-2)), [0.0, -0.0, 0.0, 1200.0])
        x.round(decimals=1).sum().backward()
        assert to_numpy(x.grad).tolist() == [0.0] * 4
        with pytest.raises(NotImplementedError, match="round"):
            tc.tensor([15], device=device).round(decimals=-1)
        with pytest.raises(TypeError, match="decimals"):
            x.round(decimals=1.5)

    def test_second_order_through_sign(self, device):
        x = tc.tensor([-2.0, 3.0], dtype=tc.float64, device=device, requires_grad=True)
        (g,) = tc.autograd.grad((x.abs() * x).sum(), x, create_graph=True)  # 2|x|
        g.sum().backward()
        np.testing.assert_allclose(to_numpy(x.grad), [-2.0, 2.0])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's note on log(0), 1 / 0
class TestSingularPoints:
    """Gradients at kinks, poles and NaN, as PyTorch 2.13 gives them."""

    def _grad(self, device, fn, values, upstream=None):
        x = tc.tensor(values, dtype=tc.float64, device=device, requires_grad=True)
        y = fn(x)
        y.backward(tc.ones_like(y) if upstream is None else
                   tc.tensor(upstream, dtype=tc.float64, device=device))
        return to_numpy(x.grad).tolist()

    def test_abs_and_sign_at_zero_and_nan(self, device):
        vals = [0.0, -0.0, math.nan, -2.0]
        assert self._grad(device, tc.abs, vals) == [0.0, 0.0, 0.0, -1.0]
        sign = to_numpy(tc.tensor(vals, device=device).sign()).tolist()
        assert sign == [0.0, 0.0, 0.0, -1.0]  # sign(NaN) is 0 in PyTorch

    def test_poles(self, device):
        assert self._grad(device, tc.sqrt, [0.0]) == [math.inf]
        assert self._grad(device, tc.log, [0.0]) == [math.inf]
        assert self._grad(device, tc.rsqrt, [0.0]) == [-math.inf]

    def test_relu_at_zero_and_nan(self, device):
        grads = self._grad(device, tc.relu, [0.0, math.nan, -1.0, 2.0])
        assert grads == [0.0, 1.0, 0.0, 1.0]  # NaN passes the gradient on (PyTorch)

    @pytest.mark.parametrize("fn", [
        lambda x: x.relu(), lambda x: F.relu(x),
        lambda x: x.masked_fill(x < 0, 0.0),
    ], ids=["relu", "F.relu", "masked_fill"])
    def test_select_backward_blocks_an_infinite_gradient(self, device, fn):
        # sqrt(0) has an infinite derivative; where the op outputs 0 without depending on
        # x, PyTorch's gradient is 0 (a select), not inf * 0 = NaN
        grads = self._grad(device, lambda x: fn(x).sqrt(), [-1.0, 4.0])
        assert grads == [0.0, 0.25]

    def test_elu_passes_the_gradient_at_nan(self, device):
        grads = self._grad(device, F.elu, [math.nan, 0.0, -1.0, 2.0], [3.0, 1.0, 1.0, 1.0])
        assert grads[:2] == [3.0, 1.0] and grads[3] == 1.0
        assert grads[2] == pytest.approx(math.exp(-1.0))

    def test_leaky_relu_at_zero_takes_the_slope(self, device):
        assert self._grad(device, lambda x: F.leaky_relu(x, 0.2), [0.0]) == [0.2]

    def test_elu_in_place_gradient_from_its_output(self, device):
        x = tc.tensor([-1.0, 0.5], dtype=tc.float64, device=device, requires_grad=True)
        y = F.elu(x * 1.0, alpha=2.0, inplace=True)
        y.sum().backward()
        np.testing.assert_allclose(to_numpy(x.grad), [2.0 * math.exp(-1.0), 1.0], rtol=1e-12)


class TestDtypes:
    """Which dtypes each op takes and gives, as in PyTorch."""

    @pytest.mark.parametrize("name", ["abs", "floor", "ceil", "round", "trunc"])
    def test_bool_refused(self, device, name):
        with pytest.raises(NotImplementedError, match="Bool"):
            getattr(tc.tensor([True, False], device=device), name)()

    def test_relu_of_bool_refused(self, device):
        with pytest.raises(RuntimeError, match="Boolean inputs not supported for relu"):
            tc.tensor([True], device=device).relu()

    def test_sign_and_square_of_bool(self, device):
        b = tc.tensor([True, False], device=device)
        assert b.sign().dtype == tc.bool and b.sign().tolist() == [True, False]
        assert b.square().dtype == tc.int64 and b.square().tolist() == [1, 0]

    @pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc", "sign", "abs"])
    def test_integers_keep_their_dtype(self, device, name):
        t = tc.tensor([-3, 0, 7], dtype=tc.int32, device=device)
        out = getattr(t, name)()
        assert out.dtype == tc.int32
        np.testing.assert_array_equal(to_numpy(out), getattr(np, name)(np.array([-3, 0, 7])))

    def test_erf_of_integers_is_float32(self, device):
        out = tc.tensor([0, 1], device=device).erf()
        assert out.dtype == tc.float32
        np.testing.assert_allclose(to_numpy(out), [0.0, math.erf(1.0)], rtol=1e-6)

    @pytest.mark.parametrize("name", ["sigmoid", "erf"])
    def test_float16_stays_float16(self, device, name):
        x = tc.tensor([0.0, 1.0], dtype=tc.float16, device=device)
        assert getattr(x, name)().dtype == tc.float16


class TestFloatingPointOnly:
    """PyTorch has these functions for floating point inputs only (NotImplementedError)."""

    @pytest.mark.parametrize("call", [
        F.leaky_relu, F.elu, F.gelu, lambda x: F.gelu(x, approximate="tanh"), F.silu,
        F.softplus, lambda x: F.softmax(x, dim=0), lambda x: F.log_softmax(x, dim=0),
        lambda x: F.mse_loss(x, x), lambda x: F.huber_loss(x, x),
        lambda x: F.smooth_l1_loss(x, x), lambda x: F.layer_norm(x, (3,)),
        lambda x: F.batch_norm(x.reshape(3, 1), None, None, training=True),
    ])
    @pytest.mark.parametrize("dtype", [tc.int64, tc.bool])
    def test_integer_and_bool_inputs_refused(self, device, call, dtype):
        with pytest.raises(NotImplementedError, match="not implemented for"):
            call(tc.tensor([1, 0, 2], device=device).to(dtype))

    def test_a_floating_operand_or_dtype_is_enough(self, device):
        i = tc.tensor([1, 2], device=device)
        assert F.mse_loss(tc.tensor([1.0, 4.0], device=device), i).item() == 2.0
        out = F.softmax(i, dim=0, dtype=tc.float64)
        np.testing.assert_allclose(to_numpy(out), np.exp([1, 2]) / np.exp([1, 2]).sum())


class TestArguments:
    """PyTorch's argument names and checks."""

    def test_keyword_names(self, device):
        x = tc.tensor([-1.0, 2.0], device=device)
        assert tc.abs(input=x).tolist() == [1.0, 2.0]
        assert tc.relu(input=x).tolist() == [0.0, 2.0]
        assert tc.round(input=x * 0.3, decimals=1).tolist() == pytest.approx([-0.3, 0.6])

    def test_non_tensor_refused_with_type_error(self):
        with pytest.raises(TypeError, match="must be Tensor"):
            tc.exp(1.0)
        with pytest.raises(TypeError, match="must be Tensor"):
            tc.floor([1.5])

    def test_masked_fill_checks(self, device):
        x = tc.tensor([1.0, 2.0], device=device)
        with pytest.raises(RuntimeError, match="boolean masks"):
            x.masked_fill(tc.tensor([1, 0], device=device), 0.0)
        with pytest.raises(RuntimeError, match="0-dimensional value tensor"):
            x.masked_fill(tc.tensor([True, False], device=device), tc.tensor([1.0]))
        with pytest.raises(TypeError, match="mask"):
            x.masked_fill([True, False], 0.0)

    def test_masked_fill_value_tensor_gets_its_gradient(self, device):
        x = tc.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
        v = tc.tensor(2.0, device=device, requires_grad=True)
        m = tc.tensor([True, False, True], device=device)
        y = x.masked_fill(m, v)
        assert y.tolist() == [2.0, 2.0, 2.0]
        (y * tc.tensor([5.0, 6.0, 7.0], device=device)).sum().backward()
        assert to_numpy(x.grad).tolist() == [0.0, 6.0, 0.0] and v.grad.item() == 12.0
        assert x.masked_fill(m, tc.tensor(9.0)).tolist() == [9.0, 2.0, 9.0]  # a CPU constant

    def test_softmax_takes_no_axis_alias(self, device):
        # PyTorch's F.softmax / F.log_softmax have no ``axis`` alias (torch.softmax has)
        x = tc.ones(2, 3, device=device)
        for fn in (F.softmax, F.log_softmax):
            with pytest.raises(TypeError, match="axis"):
                fn(x, axis=1)
