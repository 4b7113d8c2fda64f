"""Finite differences of the reference MLP, all coordinates at once.

Perturbing ``W_l[i, j]`` by ``t`` changes only unit ``j``'s pre-activation:
``z_l[n, j] += t * a_{l-1}[n, i]`` (a bias is the input ``a = 1``). The loss is
a mean over samples, so the change of the loss is ``(1/N) sum_n dl_n`` and only
samples with ``a_{l-1}[n, i] != 0`` contribute (most MNIST pixels are 0).

Each (coordinate, sample) pair is one *item*. For a block of items we carry
the *change* of every downstream quantity rather than the perturbed value:

* ``da = f(z + dz) - f(z)`` in a cancellation-free form
  (``tanh(z + d) - tanh(z) = tanh(d) (1 - tanh(z) tanh(z + d))``);
* ``dz_{m+1} = da_m @ W_{m+1}`` (the bias cancels);
* cross-entropy: ``dl = log1p(sum_c p_c expm1(dz_c)) - dz_y``;
  MSE: ``dl = sum_c da_c (a_c - t_c) + da_c^2 / 2``.

These are exact rewritings of ``l(x + t e) - l(x)``, so the central difference
``(dl(+h) - dl(-h)) / 2h`` keeps full relative precision even for tiny
gradients, where subtracting two losses of size 2.3 would lose ~11 digits.
The complex step uses the same items with ``t = i 1e-20``.

A step that moves any pre-activation of a relu-family unit across 0 makes the
item *kinked*; its coordinate is reported as skipped, never as a failure.

The last hidden layer of an MSE net with a tanh, sigmoid or identity output
(the classic case) goes faster. Its items perturb one hidden unit by ``da``
(computed as above), which moves output ``c`` by ``dz_c = da W_L[j, c]``, and
``f(z + dz) - f(z) = sum_k c_k(z) dz^k`` with the Taylor coefficients
``c_k = f^(k)(z) / k!`` (for tanh all multiples of ``1 - tanh(z)^2``). Then
``dl = sum_k da^k G_k[n, j]`` with ``G_k = g_k @ (W_L^k)^T``, where ``g_k``
collects the coefficients of ``dz^k`` in ``e dA + dA^2 / 2`` (``e = a_L - t``).
Five orders are kept: for ``|dz| <= 1e-4`` the first dropped term is below
``1e-20`` of the first kept one, so ``dl`` is still the exact change of the
loss to rounding, while the work per item drops from ``C`` outputs to one
Horner polynomial (about 10x fewer operations on 784-30-10). Larger steps take
the exact path.
"""

from __future__ import annotations

import numpy as np

from netdoctor.nn.losses import cross_entropy, encode_targets, softmax
from netdoctor.nn.mlp import MLP

__all__ = ["mlp_forward_loss", "mlp_numeric"]

_NONE = np.array(None, dtype=object)
"""The "no reason" of a coordinate in np.where: keeps the reasons an object array."""
_CHUNK = 1 << 18  # float64 elements per block (2 MB): stays in cache, still amortises the numpy calls


def _tanh(d: np.ndarray) -> np.ndarray:
    """``np.tanh``, with a shortcut for tiny real arguments (the usual case: steps are ~1e-7).

    For ``|d| < 1e-4``, ``d - d^3 / 3`` equals ``tanh(d)`` to double precision: the next
    term of the series, ``2 d^5 / 15``, is below 1.4e-17 relative (an eighth of an ulp).
    """
    if d.dtype.kind == "f" and d.size and max(float(d.max()), -float(d.min())) < 1e-4:
        out = d * d
        out *= -1.0 / 3.0
        out += 1.0
        out *= d
        return out
    return np.tanh(d)


def _act_diff(name: str, z: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``f(z + d) - f(z)`` without cancellation (z real, d real or complex)."""
    if name == "tanh":
        # tanh(z + d) = (tz + td) / (1 + tz td)  =>  tanh(z + d) - tz = td (1 - tz^2) / (1 + tz td):
        # one transcendental per element, and z (small, unbroadcast) is only touched once.
        tz = np.tanh(z)
        out = _tanh(d)
        den = tz * out
        den += 1.0
        out *= 1.0 - tz * tz
        out /= den
        return out
    if name == "sigmoid":
        # sigmoid(x) = (1 + tanh(x/2)) / 2
        return 0.5 * _act_diff("tanh", 0.5 * z, 0.5 * d)
    if name == "identity":
        return d
    if name == "relu":
        return np.where(z > 0, d, 0.0 * d)
    if name == "leaky_relu":
        from netdoctor.nn.activations import LEAKY_SLOPE

        return np.where(z > 0, d, LEAKY_SLOPE * d)
    raise ValueError(name)  # pragma: no cover - MLP validates activation names


def _kinked(name: str, z: np.ndarray, d: np.ndarray, axis) -> np.ndarray | bool:
    """Reduced over ``axis``: True where ``z`` and ``z + d`` lie on different sides of the kink at 0
    (or on it); plain False for smooth activations (nothing to compute)."""
    if name not in ("relu", "leaky_relu"):
        return False
    zp = z + d.real
    return (((z > 0) != (zp > 0)) | (z == 0)).any(axis=axis)


SERIES_MAX_STEP = 1e-4
"""Largest |dz| of an output pre-activation for the series: the first dropped term, of
order dz^6 against dz, is then below 1e-20 relative."""


def _taylor(name: str, z: np.ndarray) -> list[np.ndarray] | None:
    """``[c_1, ..., c_5]``, ``c_k = f^(k)(z) / k!``, so that ``f(z + d) - f(z) = sum_k c_k d^k + O(d^6)``.

    For tanh, with ``t = tanh(z)`` and ``q = 1 - t^2``, the derivatives are
    ``f^(1) = q``, ``f^(2) = -2 t q``, ``f^(3) = q (6 t^2 - 2)``,
    ``f^(4) = t q (16 - 24 t^2)`` and ``f^(5) = q (16 - 120 t^2 + 120 t^4)``.
    ``sigmoid(x) = (1 + tanh(x / 2)) / 2`` scales the tanh coefficients at ``z / 2``
    by ``2^-(k+1)``. None for other activations.
    """
    if name == "identity":
        one, zero = np.ones_like(z), np.zeros_like(z)
        return [one, zero, zero, zero, zero]
    if name == "sigmoid":
        return [ck * 0.5 ** (k + 2) for k, ck in enumerate(_tanh_taylor(0.5 * z))]
    if name == "tanh":
        return _tanh_taylor(z)
    return None


def _tanh_taylor(z: np.ndarray) -> list[np.ndarray]:
    """The five Taylor coefficients of tanh at ``z`` (see :func:`_taylor`)."""
    t = np.tanh(z)
    t2 = t * t
    # q = 1 - t^2 = 4u / (1 + u)^2 with u = exp(-2|z|): no cancellation where |t| ~ 1, no overflow
    u = np.exp(-2.0 * np.abs(z))
    q = 4.0 * u / ((1.0 + u) * (1.0 + u))
    return [q, -t * q, q * (t2 - 1.0 / 3.0), t * q * (2.0 / 3.0 - t2), q * (2.0 / 15.0 - t2 + t2 * t2)]


def _series_tables(model, zs, extra, params) -> np.ndarray | None:
    """``G`` of shape (5, N, J): ``dl_n = sum_k da^k G[k-1, n, j]`` for a change ``da`` of last-hidden unit j.

    ``dA = sum_k c_k dz^k`` per output, so ``e dA + dA^2 / 2`` has the coefficients
    ``g_1 = e c_1``, ``g_2 = e c_2 + c_1^2 / 2``, ``g_3 = e c_3 + c_1 c_2``,
    ``g_4 = e c_4 + c_1 c_3 + c_2^2 / 2``, ``g_5 = e c_5 + c_1 c_4 + c_2 c_3``
    (products of order > 5 dropped), and ``dz_c^k = da^k W[j, c]^k`` gives
    ``G_k = g_k @ (W^k)^T``. None when the output activation has no series here.
    """
    L = model.n_layers
    c = _taylor(model.output_activation, zs[L])
    if c is None:
        return None
    e = extra
    g = [e * c[0],
         e * c[1] + 0.5 * c[0] * c[0],
         e * c[2] + c[0] * c[1],
         e * c[3] + c[0] * c[2] + 0.5 * c[1] * c[1],
         e * c[4] + c[0] * c[3] + c[1] * c[2]]
    W = params[f"W{L}"]
    return np.stack([gk @ (W ** (k + 1)).T for k, gk in enumerate(g)])


def mlp_forward_loss(model: MLP, X: np.ndarray, y: np.ndarray, params: dict[str, np.ndarray]):
    """Float64 forward pass keeping ``z_l`` and ``a_l``; returns ``(loss, zs, acts, extra)``."""
    L = model.n_layers
    a = X
    zs, acts = [X], [X]  # index 0 is the input: layers count from 1, like W_l
    for l in range(1, L + 1):
        z = a @ params[f"W{l}"] + params[f"b{l}"]
        zs.append(z)
        if l == L and model.loss_name == "cross_entropy":
            a = z
        else:
            a = model.layer_activation(l).forward(z)
        acts.append(a)
    n = len(X)
    if model.loss_name == "cross_entropy":
        loss = cross_entropy(zs[L], y)[0]  # log-softmax form: finite even when p_y underflows
        extra = softmax(zs[L])
    else:
        t = encode_targets(y, model.n_classes, model.output_activation, dtype=np.float64)
        loss = 0.5 * ((acts[L] - t) ** 2).sum() / n
        extra = acts[L] - t
    return float(loss), zs, acts, extra


def _pair_loss_change(model, l, zs, extra, y, params, n, d, series=None):
    """Per-sample loss change for perturbations of layer ``l``'s units.

    Args:
        n: sample of each pair (P,). d: pre-activation changes ``dz_l[n, j]`` of
            shape (S, P, J): S signs (or 1 complex step), P (sample, input) pairs,
            J units of layer ``l``.
        series: :func:`_series_tables` for the last hidden layer of an MSE net, or None.

    Returns:
        ``(dl, kink)``: ``l_n(perturbed) - l_n`` of shape (S, P, J) and a (P, J)
        mask of steps that cross a relu-family kink anywhere downstream.
    """
    L = model.n_layers
    ce = model.loss_name == "cross_entropy"
    act = lambda m: model.activation if m < L else model.output_activation  # noqa: E731
    if l == L:
        z = zs[L][n]
        if ce:
            onehot = y[n][:, None] == np.arange(z.shape[1])[None, :]
            return np.log1p(extra[n] * np.expm1(d)) - d * onehot, np.zeros(z.shape, dtype=bool)
        da = _act_diff(act(L), z, d)
        return da * extra[n] + 0.5 * da * da, _kinked(act(L), z, d, 0) | np.zeros(z.shape, dtype=bool)
    z = zs[l][n]
    kink = _kinked(act(l), z, d, 0) | np.zeros(z.shape, dtype=bool)
    da = _act_diff(act(l), z, d)
    if l == L - 1 and not ce:
        if series is not None and not np.iscomplexobj(da) \
                and float(np.abs(da).max(initial=0.0)) * float(np.abs(params[f"W{L}"]).max()) <= SERIES_MAX_STEP:
            return _series_loss_change(series, n, da), kink
        return _last_hidden_mse(model, zs, extra, params, n, da, kink)
    dz = da[..., None] * params[f"W{l + 1}"]  # (S, P, J, D_{l+1}): row j of W_{l+1} per unit j
    for m in range(l + 1, L):
        zm = zs[m][n][None, :, None, :]
        kink |= _kinked(act(m), zm, dz, (0, 3))
        dz = _act_diff(act(m), zm, dz) @ params[f"W{m + 1}"]
    if ce:
        s = np.matmul(np.expm1(dz), extra[n][None, :, :, None])[..., 0]
        if l == L - 1:  # dz_y = da * W_L[j, y_n] without gathering from the big array
            dz_y = da * params[f"W{L}"][:, y[n]].T
        else:
            dz_y = np.take_along_axis(dz, np.broadcast_to(y[n][None, :, None, None], dz.shape[:3] + (1,)), axis=3)[..., 0]
        return np.log1p(s) - dz_y, kink
    zL = zs[L][n][None, :, None, :]
    kink |= _kinked(act(L), zL, dz, (0, 3))
    da = _act_diff(act(L), zL, dz)
    # matmul over the class axis: a batched (J, C) @ (C, 1) per (sign, pair), faster than einsum here
    lin = np.matmul(da, extra[n][None, :, :, None])[..., 0]
    return lin + 0.5 * np.einsum("spjc,spjc->spj", da, da), kink


def _series_loss_change(G: np.ndarray, n: np.ndarray, da: np.ndarray) -> np.ndarray:
    """``dl = sum_k da^k G[k-1, n]`` by Horner's rule: (S, P, J) from ``da`` (S, P, J)."""
    Gn = G[:, n]  # (K, P, J)
    dl = da * Gn[-1]
    for k in range(len(G) - 2, -1, -1):
        dl += Gn[k]
        dl *= da
    return dl


def _last_hidden_mse(model, zs, extra, params, n, da, kink):
    """MSE loss change for perturbations of the last hidden layer (the common case).

    ``dz_L[s, p, :] = da[s, p, j] * W_L[j, :]`` for each unit j. The blocks are laid out
    (S, J, P, C): the per-pair arrays (P, C) then broadcast over contiguous memory, which
    halves the time of the tanh difference against broadcasting them between J and C.
    """
    L = model.n_layers
    dz = np.einsum("spj,jc->sjpc", da, params[f"W{L}"])
    zL = zs[L][n]
    k = _kinked(model.output_activation, zL, dz, (0, 3))
    if isinstance(k, np.ndarray):
        kink = kink | k.T
    dA = _act_diff(model.output_activation, zL, dz)
    dl = np.einsum("sjpc,pc->sjp", dA, extra[n]) + 0.5 * np.einsum("sjpc,sjpc->sjp", dA, dA)
    return dl.transpose(0, 2, 1), kink


def _layer_table(model, l, zs, acts, extra, y, params, rows, *, method, h, complex_h):
    """Numeric derivatives for every unit j and every input row i in ``rows`` of ``[W_l; b_l]``.

    Row ``D_{l-1}`` is the bias (input 1). Returns (R, J) arrays: numeric, noise, kink.
    """
    N = len(y)
    a_in = np.concatenate([acts[l - 1], np.ones((N, 1))], axis=1)[:, rows]  # (N, R)
    w_aug = np.vstack([params[f"W{l}"], params[f"b{l}"][None, :]])[rows]  # (R, J)
    R, J = w_aug.shape
    hk = h * np.maximum(1.0, np.abs(w_aug))
    r_of, n_of = np.nonzero(a_in.T)  # (input, sample) pairs with a nonzero input, grouped by input
    width = J * max([params[f"W{m}"].shape[1] for m in range(l + 1, model.n_layers + 1)] + [1])
    S = 1 if method == "complex" else 2
    acc = np.zeros((S, R, J), dtype=np.complex128 if method == "complex" else np.float64)
    acc_abs = np.zeros((R, J))
    acc_curv = np.zeros((R, J))
    kinks = np.zeros((R, J), dtype=np.int64)
    series = None
    if l == model.n_layers - 1 and model.loss_name != "cross_entropy" and method != "complex":
        series = _series_tables(model, zs, extra, params)
    if series is not None:
        width = J  # the series items carry no output axis
    block = max(1, _CHUNK // (S * width))
    for p0 in range(0, len(r_of), block):
        r, n = r_of[p0:p0 + block], n_of[p0:p0 + block]
        x = a_in[n, r]
        if method == "complex":
            d = (1j * complex_h * x)[None, :, None] * np.ones((1, 1, J))
        else:
            step = hk[r] * x[:, None]
            d = np.stack([step, -step])
        dl, kink = _pair_loss_change(model, l, zs, extra, y, params, n, d, series)
        ur, starts = np.unique(r, return_index=True)
        acc[:, ur] += np.add.reduceat(dl, starts, axis=1)
        kinks[ur] += np.add.reduceat(kink.astype(np.int64), starts, axis=0)
        if method != "complex":
            # sum |dl| bounds the roundoff of the sum over samples (each term is exact to a few ulps);
            # |dl+ + dl-| = h^2 |l''| per sample is the scale of the O(h^2) truncation error.
            acc_abs[ur] += np.add.reduceat(np.abs(dl).sum(axis=0), starts, axis=0)
            acc_curv[ur] += np.add.reduceat(np.abs(dl[0] + dl[1]), starts, axis=0)
    if method == "complex":
        numeric = acc[0].imag / (N * complex_h)
        noise = np.zeros((R, J))
    else:
        numeric = (acc[0] - acc[1]) / (2 * hk * N)
        noise = 1e4 * np.finfo(np.float64).eps * acc_abs / (2 * hk * N) + acc_curv / (2 * N)
    return numeric, noise, kinks > 0


def mlp_numeric(
    model: MLP,
    X: np.ndarray,
    y: np.ndarray,
    params: dict[str, np.ndarray],
    coords: dict[str, np.ndarray],
    *,
    method: str,
    h: float,
    complex_h: float = 1e-20,
) -> dict[str, dict[str, np.ndarray]]:
    """Numerical gradient of the mean loss at the selected flat entries of every tensor.

    Args:
        model: the reference MLP (only its architecture is used).
        X: inputs (N, D), float64. y: labels (N,).
        params: float64 copies of the parameters (not modified).
        coords: tensor name -> flat indices to check.
        method: ``"central"`` or ``"complex"``.
        h: central step, scaled per entry as ``h * max(1, |theta|)``.

    Returns:
        tensor name -> ``{"numeric", "noise", "kink", "kink_reason"}`` arrays aligned with ``coords``.
    """
    _, zs, acts, extra = mlp_forward_loss(model, X, y, params)
    out: dict[str, dict[str, np.ndarray]] = {}
    for l in range(1, model.n_layers + 1):
        d_in, d_out = params[f"W{l}"].shape
        fw = np.asarray(coords.get(f"W{l}", []), dtype=np.intp)
        fb = np.asarray(coords.get(f"b{l}", []), dtype=np.intp)
        i_all = np.concatenate([fw // d_out, np.full(len(fb), d_in)])
        j_all = np.concatenate([fw % d_out, fb])
        rows, pos = np.unique(i_all, return_inverse=True)
        if len(rows) == 0:
            continue
        num, noise, kink = _layer_table(model, l, zs, acts, extra, y, params, rows,
                                        method=method, h=h, complex_h=complex_h)
        reason = (f"the step moves a pre-activation across the {model.activation} kink at 0 "
                  "for at least one sample")
        for name, sl in ((f"W{l}", slice(0, len(fw))), (f"b{l}", slice(len(fw), len(i_all)))):
            p, j = pos[sl], j_all[sl]
            k = kink[p, j]
            out[name] = {"numeric": num[p, j], "noise": noise[p, j], "kink": k,
                         "kink_reason": np.where(k, reason, _NONE)}
    return out
