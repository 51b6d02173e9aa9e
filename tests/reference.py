"""Float64 NumPy references for every dlcore kernel, written from the formula as plainly as possible.

This file imports NumPy only and never calls dlcore: it is the independent check. One section per
kernel family, in the order of docs/kernel_api.md.
"""
import numpy as np


def f64(x):
    return np.asarray(x, dtype=np.float64)


# ---------------------------------------------------------------- activations used by epilogues

def act_ref(x, activation):
    x = f64(x)
    if activation in (None, "linear"):
        return x
    if activation == "relu":
        return np.maximum(x, 0.0)
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if activation == "tanh":
        return np.tanh(x)
    raise ValueError(activation)


# ---------------------------------------------------------------------------------------- gemm

def gemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, c=None, bias=None, activation=None):
    """act(alpha * op(a) @ op(b) + beta * c + bias) in float64."""
    A = f64(a).T if trans_a else f64(a)
    B = f64(b).T if trans_b else f64(b)
    out = alpha * (A @ B)
    if beta != 0.0:
        out = out + beta * f64(c)
    if bias is not None:
        out = out + f64(bias)
    return act_ref(out, activation)


# ------------------------------------------------------------------------------ conv2d / conv1d
# NHWC images, filters (kh, kw, C_in, C_out). Each function loops over the kh*kw filter taps and, for
# every tap, takes the strided slice of the zero-padded input that the tap sees for all outputs.

def conv_same_padding(size, k, s, d):
    """Keras/TensorFlow "same": (before, after) for an axis of `size` with window k, stride s, dilation d."""
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def conv2d_pads(padding, x_shape, w_shape, strides=(1, 1), dilation=(1, 1)):
    """((top, bottom), (left, right)) for "valid", "same", an int or explicit pairs."""
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        return (conv_same_padding(x_shape[1], w_shape[0], strides[0], dilation[0]),
                conv_same_padding(x_shape[2], w_shape[1], strides[1], dilation[1]))
    if isinstance(padding, int):
        return (padding, padding), (padding, padding)
    return tuple(padding[0]), tuple(padding[1])


def _conv_taps(x_shape, w_shape, strides, pads, dilation):
    """Output size and, per tap (i, j), the slices of the padded input it reads for every output."""
    _, h, w, _ = x_shape
    kh, kw = w_shape[:2]
    (pt, pb), (pl, pr) = pads
    sh, sw = strides
    dh, dw = dilation
    ho = (h + pt + pb - (kh - 1) * dh - 1) // sh + 1
    wo = (w + pl + pr - (kw - 1) * dw - 1) // sw + 1
    taps = [(i, j, slice(i * dh, i * dh + (ho - 1) * sh + 1, sh), slice(j * dw, j * dw + (wo - 1) * sw + 1, sw))
            for i in range(kh) for j in range(kw)]
    return ho, wo, taps


def conv2d_forward(x, w, bias=None, strides=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1), activation=None):
    x, w = f64(x), f64(w)
    ho, wo, taps = _conv_taps(x.shape, w.shape, strides, pads, dilation)
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    y = np.zeros((x.shape[0], ho, wo, w.shape[3]))
    for i, j, rows, cols in taps:
        y += np.einsum("nhwc,co->nhwo", xp[:, rows, cols, :], w[i, j])
    if bias is not None:
        y = y + f64(bias)
    return act_ref(y, activation)


def conv2d_backward_data(dy, w, x_shape, strides=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1)):
    """The adjoint of the forward map x -> y: each tap adds dy @ w[i, j]^T back onto what it read."""
    dy, w = f64(dy), f64(w)
    _, _, taps = _conv_taps(x_shape, w.shape, strides, pads, dilation)
    n, h, wd, c = x_shape
    (pt, pb), (pl, pr) = pads
    dxp = np.zeros((n, h + pt + pb, wd + pl + pr, c))
    for i, j, rows, cols in taps:
        dxp[:, rows, cols, :] += np.einsum("nhwo,co->nhwc", dy, w[i, j])
    return dxp[:, pt:pt + h, pl:pl + wd, :]


def conv2d_backward_filter(dy, x, w_shape, strides=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1)):
    dy, x = f64(dy), f64(x)
    _, _, taps = _conv_taps(x.shape, w_shape, strides, pads, dilation)
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    dw = np.zeros(w_shape)
    for i, j, rows, cols in taps:
        dw[i, j] = np.einsum("nhwc,nhwo->co", xp[:, rows, cols, :], dy)
    return dw


def conv2d_backward_bias(dy):
    return f64(dy).reshape(-1, dy.shape[-1]).sum(axis=0)


# Grouped convolution (groups > 1, depthwise when groups = C_in) is the ordinary convolution with the
# dense filters that are zero between groups: group k's filters w[..., k*Cout/G:(k+1)*Cout/G] connect
# input channels k*Cin/G.. only.

def grouped_filters(w, groups):
    """The dense (kh, kw, C_in, C_out) filters of grouped filters (kh, kw, C_in / groups, C_out)."""
    w = f64(w)
    kh, kw, cg, cout = w.shape
    og = cout // groups
    full = np.zeros((kh, kw, cg * groups, cout))
    for k in range(groups):
        full[:, :, k * cg:(k + 1) * cg, k * og:(k + 1) * og] = w[..., k * og:(k + 1) * og]
    return full


def grouped_filter_blocks(dw_full, groups):
    """The grouped (kh, kw, C_in / groups, C_out) part of dense filter gradients."""
    kh, kw, cin, cout = dw_full.shape
    cg, og = cin // groups, cout // groups
    return np.concatenate([dw_full[:, :, k * cg:(k + 1) * cg, k * og:(k + 1) * og] for k in range(groups)], axis=3)


# ------------------------------------------------------------------------------------- pooling
# NHWC. Windows are clipped to the image (padding takes no part); "same" pads like conv with d = 1.

def pool2d_windows(x_shape, pool_size, strides, padding):
    """Yields (oh, ow, row slice, column slice) of every output pixel's window, clipped to the image."""
    _, h, w, _ = x_shape
    kh, kw = pool_size
    sh, sw = strides
    if padding == "valid":
        ho, wo, pt, pl = (h - kh) // sh + 1, (w - kw) // sw + 1, 0, 0
    else:
        ho, wo = -(-h // sh), -(-w // sw)
        pt = max((ho - 1) * sh + kh - h, 0) // 2
        pl = max((wo - 1) * sw + kw - w, 0) // 2
    for oh in range(ho):
        for ow in range(wo):
            h0, w0 = oh * sh - pt, ow * sw - pl
            yield oh, ow, slice(max(h0, 0), min(h0 + kh, h)), slice(max(w0, 0), min(w0 + kw, w))


def _pool_out_shape(x_shape, pool_size, strides, padding):
    wins = list(pool2d_windows(x_shape, pool_size, strides, padding))
    ho = 1 + max((oh for oh, *_ in wins), default=-1)
    wo = 1 + max((ow for _, ow, *_ in wins), default=-1)
    return (x_shape[0], ho, wo, x_shape[3])


def max_pool2d_forward(x, pool_size, strides, padding="valid"):
    x = f64(x)
    y = np.zeros(_pool_out_shape(x.shape, pool_size, strides, padding))
    for oh, ow, rows, cols in pool2d_windows(x.shape, pool_size, strides, padding):
        y[:, oh, ow, :] = x[:, rows, cols, :].max(axis=(1, 2))
    return y


def max_pool2d_backward(dy, x, pool_size, strides, padding="valid"):
    """Each dy goes to the first (row-major) position of its window holding the maximum."""
    dy, x = f64(dy), f64(x)
    n, _, _, c = x.shape
    dx = np.zeros(x.shape)
    nn, cc = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
    for oh, ow, rows, cols in pool2d_windows(x.shape, pool_size, strides, padding):
        win = x[:, rows, cols, :]
        width = win.shape[2]
        first = win.reshape(n, win.shape[1] * width, c).argmax(axis=1)  # the first occurrence (or first NaN)
        np.add.at(dx, (nn, rows.start + first // width, cols.start + first % width, cc), dy[:, oh, ow, :])
    return dx


def avg_pool2d_forward(x, pool_size, strides, padding="valid"):
    x = f64(x)
    y = np.zeros(_pool_out_shape(x.shape, pool_size, strides, padding))
    for oh, ow, rows, cols in pool2d_windows(x.shape, pool_size, strides, padding):
        y[:, oh, ow, :] = x[:, rows, cols, :].mean(axis=(1, 2))
    return y


def avg_pool2d_backward(dy, x_shape, pool_size, strides, padding="valid"):
    dy = f64(dy)
    dx = np.zeros(x_shape)
    for oh, ow, rows, cols in pool2d_windows(x_shape, pool_size, strides, padding):
        count = (rows.stop - rows.start) * (cols.stop - cols.start)
        dx[:, rows, cols, :] += dy[:, oh, ow, None, None, :] / count
    return dx


def global_avg_pool2d_forward(x):
    return f64(x).mean(axis=(1, 2))


def global_avg_pool2d_backward(dy, x_shape):
    n, h, w, c = x_shape
    return np.broadcast_to(f64(dy)[:, None, None, :] / (h * w), x_shape).copy()


def global_max_pool2d_forward(x):
    return f64(x).max(axis=(1, 2))


def global_max_pool2d_backward(dy, x):
    """Each dy[n, c] goes to the first (row-major) position of the maximum of x[n, :, :, c]."""
    dy, x = f64(dy), f64(x)
    n, h, w, c = x.shape
    dx = np.zeros((n, h * w, c))
    first = x.reshape(n, h * w, c).argmax(axis=1)
    for i in range(n):
        for k in range(c):
            dx[i, first[i, k], k] = dy[i, k]
    return dx.reshape(x.shape)


# 1-D pooling of sequences (N, L, C): windows clipped to the sequence, "same" as in 2-D.

def pool1d_windows(length, k, s, padding):
    """Yields (output step, slice of input steps) of every window, clipped to the sequence."""
    if padding == "valid":
        lo, pad = (length - k) // s + 1, 0
    else:
        lo = -(-length // s)
        pad = max((lo - 1) * s + k - length, 0) // 2
    for i in range(lo):
        start = i * s - pad
        yield i, slice(max(start, 0), min(start + k, length))


def max_pool1d_forward(x, k, s, padding="valid"):
    x = f64(x)
    wins = list(pool1d_windows(x.shape[1], k, s, padding))
    y = np.zeros((x.shape[0], len(wins), x.shape[2]))
    for i, steps in wins:
        y[:, i] = x[:, steps].max(axis=1)
    return y


def max_pool1d_backward(dy, x, k, s, padding="valid"):
    dy, x = f64(dy), f64(x)
    dx = np.zeros(x.shape)
    n, _, c = x.shape
    nn, cc = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
    for i, steps in pool1d_windows(x.shape[1], k, s, padding):
        first = x[:, steps].argmax(axis=1)
        np.add.at(dx, (nn, steps.start + first, cc), dy[:, i])
    return dx


def avg_pool1d_forward(x, k, s, padding="valid"):
    x = f64(x)
    wins = list(pool1d_windows(x.shape[1], k, s, padding))
    y = np.zeros((x.shape[0], len(wins), x.shape[2]))
    for i, steps in wins:
        y[:, i] = x[:, steps].mean(axis=1)
    return y


def avg_pool1d_backward(dy, x_shape, k, s, padding="valid"):
    dy = f64(dy)
    dx = np.zeros(x_shape)
    for i, steps in pool1d_windows(x_shape[1], k, s, padding):
        dx[:, steps] += dy[:, i, None] / (steps.stop - steps.start)
    return dx


# ------------------------------------------------------------------------------------ upsampling
# NHWC, integer factors. Output position o of an axis of `length` inputs upsampled by f reads:
# nearest, input o // f; bilinear, the half-pixel centre src = (o + 0.5) / f - 0.5 (clamped at 0),
# between inputs floor(src) and the next one (the last one at the border), weighted linearly.

def upsample_taps(o, f, length, interpolation):
    """[(input index, weight)] read by output position o."""
    if interpolation == "nearest":
        return [(o // f, 1.0)]
    src = max((o + 0.5) / f - 0.5, 0.0)
    i0 = min(int(np.floor(src)), length - 1)
    i1 = min(i0 + 1, length - 1)
    return [(i0, 1.0 - (src - i0)), (i1, src - i0)]


def upsample2d_forward(x, size, interpolation="nearest"):
    x = f64(x)
    n, h, w, c = x.shape
    fh, fw = size
    y = np.zeros((n, h * fh, w * fw, c))
    for oh in range(h * fh):
        for ow in range(w * fw):
            for ih, a in upsample_taps(oh, fh, h, interpolation):
                for iw, b in upsample_taps(ow, fw, w, interpolation):
                    y[:, oh, ow, :] += a * b * x[:, ih, iw, :]
    return y


def upsample2d_backward(dy, x_shape, size, interpolation="nearest"):
    """A tap of weight 0 passes no gradient (not even a NaN dy's): the output does not depend on it."""
    dy = f64(dy)
    n, h, w, c = x_shape
    fh, fw = size
    dx = np.zeros(x_shape)
    for oh in range(h * fh):
        for ow in range(w * fw):
            for ih, a in upsample_taps(oh, fh, h, interpolation):
                for iw, b in upsample_taps(ow, fw, w, interpolation):
                    if a * b != 0:
                        dx[:, ih, iw, :] += a * b * dy[:, oh, ow, :]
    return dx


def upsample1d_forward(x, size):
    return np.repeat(f64(x), size, axis=1)


def upsample1d_backward(dy, x_shape, size):
    n, length, c = x_shape
    return f64(dy).reshape(n, length, size, c).sum(axis=2)


# ------------------------------------------------------------------- layers composed of array ops
# Transposed convolution, group normalization, the activation layers, attention: float64, from the
# definitions.

def conv_transpose_pads(length, k, s, d, padding, output_padding=None):
    """Keras's transposed-convolution geometry of one axis: (output length, padding before)."""
    ke = (k - 1) * d + 1
    if padding == "valid":
        op = max(ke, s) - ke if output_padding is None else output_padding
        left, right = ke - 1, ke - 1 + op
    else:
        pad = s + ke - 2 if output_padding is None else ke + ke % 2 - 2 + output_padding
        left = min(pad // 2 + pad % 2, ke - 1)
        right = pad - left
    return (length - 1) * s + 1 + left + right - ke + 1, ke - 1 - left


def conv2d_transpose(x, w, b=None, strides=(1, 1), padding="valid", output_padding=None, dilation=(1, 1)):
    """Each input pixel (i, j) adds x[n, i, j, :] @ w[a, b]^T at output (i*sh - ph + a*dh, j*sw - pw + b*dw):
    x (N, H, W, C_in), w (kh, kw, filters, C_in)."""
    x, w = f64(x), f64(w)
    n, h, wd, _ = x.shape
    kh, kw, f, _ = w.shape
    ops = output_padding or (None, None)
    ho, ph = conv_transpose_pads(h, kh, strides[0], dilation[0], padding, ops[0])
    wo, pw = conv_transpose_pads(wd, kw, strides[1], dilation[1], padding, ops[1])
    y = np.zeros((n, ho, wo, f))
    for i in range(h):
        for j in range(wd):
            for a in range(kh):
                for c in range(kw):
                    oi, oj = i * strides[0] - ph + a * dilation[0], j * strides[1] - pw + c * dilation[1]
                    if 0 <= oi < ho and 0 <= oj < wo:
                        y[:, oi, oj, :] += x[:, i, j, :] @ w[a, c].T
    return y if b is None else y + f64(b)


def group_norm(x, gamma, beta, groups, epsilon=1e-3):
    """Channels last: per sample and group of channels, normalized over the group and all other axes."""
    x = f64(x)
    n, c = x.shape[0], x.shape[-1]
    g = x.reshape(n, -1, groups, c // groups)
    mean = g.mean(axis=(1, 3), keepdims=True)
    var = ((g - mean) ** 2).mean(axis=(1, 3), keepdims=True)
    y = ((g - mean) / np.sqrt(var + epsilon)).reshape(x.shape)
    return y * f64(gamma) + f64(beta)


def keras_relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """keras.activations.relu: x above the threshold (clipped to [0, max_value] when given), minus the
    slope times the part below the threshold."""
    x = f64(x)
    pos = np.where(x > threshold, x, 0.0)
    if max_value is not None:
        pos = np.clip(pos, 0.0, max_value)
    return pos - negative_slope * np.maximum(threshold - x, 0.0)


def prelu(x, alpha):
    x = f64(x)
    return np.where(x > 0, x, f64(alpha) * x)


def masked_softmax(x, mask=None, axis=-1):
    x = f64(x)
    if mask is not None:
        x = np.where(mask, x, -1e9)
    axes = axis if isinstance(axis, tuple) else (axis,)
    e = np.exp(x - x.max(axis=axes, keepdims=True))
    y = e / e.sum(axis=axes, keepdims=True)
    return y if mask is None else np.where(mask, y, 0.0)


def attention(q, v, k=None, q_mask=None, v_mask=None, causal=False, scale=None, concat_weight=None):
    """Keras's Attention layer: dot (concat_weight None) or concat scores, masked value steps -1e9."""
    q, v = f64(q), f64(v)
    k = v if k is None else f64(k)
    if concat_weight is None:
        scores = q @ np.swapaxes(k, 1, 2) * (1.0 if scale is None else scale)
    else:
        t = q[:, :, None, :] + k[:, None, :, :]
        scores = concat_weight * np.tanh(t * (1.0 if scale is None else scale)).sum(axis=-1)
    allowed = np.ones(scores.shape, bool)
    if v_mask is not None:
        allowed &= np.asarray(v_mask, bool)[:, None, :]
    if causal:
        allowed &= np.tril(np.ones(scores.shape[1:], bool))[None]
    scores = np.where(allowed, scores, scores - 1e9)
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = e / e.sum(axis=-1, keepdims=True)
    out = weights @ v
    if q_mask is not None:
        out = out * np.asarray(q_mask, bool)[:, :, None]
    return out, weights


def multi_head_attention(query, value, key, wq, bq, wk, bk, wv, bv, wo, bo, mask=None):
    """Keras's MultiHeadAttention on (B, T, d) inputs: kernels (d, H, k), biases (H, k), output kernel
    (H, vd, out). mask (B, Tq, Tk) boolean or None; masked scores -1e9, masked weights 0."""
    query, value, key = f64(query), f64(value), f64(key)
    q = np.einsum("btd,dhk->bhtk", query, f64(wq)) + f64(bq)[None, :, None, :]
    k = np.einsum("btd,dhk->bhtk", key, f64(wk)) + f64(bk)[None, :, None, :]
    v = np.einsum("btd,dhk->bhtk", value, f64(wv)) + f64(bv)[None, :, None, :]
    scores = np.einsum("bhqk,bhsk->bhqs", q / np.sqrt(q.shape[-1]), k)
    weights = masked_softmax(scores, None if mask is None else np.asarray(mask, bool)[:, None], axis=-1)
    heads = np.einsum("bhqs,bhsv->bhqv", weights, v)
    return np.einsum("bhqv,hvo->bqo", heads, f64(wo)) + f64(bo), weights
# ------------------------------------------------------------------- recurrent: LSTM, GRU, SimpleRNN
# Loops over time, straight from the formulas (Keras layouts and gate orders), float64. Each backward
# walks the same loop in reverse and returns the gradients in the order of dlcore.kernels.

def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def lstm_forward(x, h0, c0, kernel, recurrent_kernel, bias):
    """-> hs (B, T, H), h_T, c_T. Gates i, f, c, o: c_t = f c + i c~, h_t = o tanh(c_t)."""
    x, W, U, b = f64(x), f64(kernel), f64(recurrent_kernel), f64(bias)
    B, T, _ = x.shape
    H = U.shape[0]
    h = np.zeros((B, H)) if h0 is None else f64(h0)
    c = np.zeros((B, H)) if c0 is None else f64(c0)
    hs = np.zeros((B, T, H))
    for t in range(T):
        a = x[:, t] @ W + h @ U + b
        i, f, g, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), _sigmoid(a[:, 3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs[:, t] = h
    return hs, h, c


def lstm_backward(x, h0, c0, kernel, recurrent_kernel, bias, dhs, dh_T, dc_T):
    """-> dx, dh0, dc0, dkernel, drecurrent_kernel, dbias by backpropagation through time."""
    x, W, U, b = f64(x), f64(kernel), f64(recurrent_kernel), f64(bias)
    B, T, _ = x.shape
    H = U.shape[0]
    h = np.zeros((B, H)) if h0 is None else f64(h0)
    c = np.zeros((B, H)) if c0 is None else f64(c0)
    steps = []
    for t in range(T):
        a = x[:, t] @ W + h @ U + b
        i, f, g, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), _sigmoid(a[:, 3 * H:])
        c_new = f * c + i * g
        steps.append((h, c, i, f, g, o, c_new))
        c = c_new
        h = o * np.tanh(c)
    dx = np.zeros_like(x)
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    dh = np.zeros((B, H)) if dh_T is None else f64(dh_T).copy()
    dc = np.zeros((B, H)) if dc_T is None else f64(dc_T).copy()
    for t in reversed(range(T)):
        h_prev, c_prev, i, f, g, o, c_t = steps[t]
        if dhs is not None:
            dh = dh + f64(dhs)[:, t]
        tc = np.tanh(c_t)
        do = dh * tc
        dc = dc + dh * o * (1 - tc ** 2)
        di, df, dg = dc * g, dc * c_prev, dc * i
        da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g ** 2), do * o * (1 - o)], axis=1)
        dx[:, t] = da @ W.T
        dW += x[:, t].T @ da
        dU += h_prev.T @ da
        db += da.sum(axis=0)
        dh = da @ U.T
        dc = dc * f
    return dx, dh, dc, dW, dU, db


def gru_forward(x, h0, kernel, recurrent_kernel, bias):
    """Keras GRU, reset_after=True, gates z, r, h. bias (2, 3H): input bias, recurrent bias. -> hs, h_T."""
    x, W, U, bias = f64(x), f64(kernel), f64(recurrent_kernel), f64(bias)
    B, T, _ = x.shape
    H = U.shape[0]
    h = np.zeros((B, H)) if h0 is None else f64(h0)
    hs = np.zeros((B, T, H))
    for t in range(T):
        gx = x[:, t] @ W + bias[0]
        gh = h @ U + bias[1]
        z = _sigmoid(gx[:, :H] + gh[:, :H])
        r = _sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
        hh = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
        h = z * h + (1 - z) * hh
        hs[:, t] = h
    return hs, h


def gru_backward(x, h0, kernel, recurrent_kernel, bias, dhs, dh_T):
    """-> dx, dh0, dkernel, drecurrent_kernel, dbias (2, 3H)."""
    x, W, U, bias = f64(x), f64(kernel), f64(recurrent_kernel), f64(bias)
    B, T, _ = x.shape
    H = U.shape[0]
    h = np.zeros((B, H)) if h0 is None else f64(h0)
    steps = []
    for t in range(T):
        gx = x[:, t] @ W + bias[0]
        gh = h @ U + bias[1]
        z = _sigmoid(gx[:, :H] + gh[:, :H])
        r = _sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
        hh = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
        steps.append((h, z, r, hh, gh[:, 2 * H:]))
        h = z * h + (1 - z) * hh
    dx = np.zeros_like(x)
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(bias)
    dh = np.zeros((B, H)) if dh_T is None else f64(dh_T).copy()
    for t in reversed(range(T)):
        h_prev, z, r, hh, gh_h = steps[t]
        if dhs is not None:
            dh = dh + f64(dhs)[:, t]
        dz = dh * (h_prev - hh)
        dhh = dh * (1 - z)
        da_h = dhh * (1 - hh ** 2)
        da_z = dz * z * (1 - z)
        da_r = da_h * gh_h * r * (1 - r)
        dgx = np.concatenate([da_z, da_r, da_h], axis=1)
        dgh = np.concatenate([da_z, da_r, da_h * r], axis=1)
        dx[:, t] = dgx @ W.T
        dW += x[:, t].T @ dgx
        dU += h_prev.T @ dgh
        db[0] += dgx.sum(axis=0)
        db[1] += dgh.sum(axis=0)
        dh = dh * z + dgh @ U.T
    return dx, dh, dW, dU, db


def simple_rnn_forward(x, h0, kernel, recurrent_kernel, bias):
    """h_t = tanh(x_t W + h_{t-1} U + b) -> hs, h_T."""
    x, W, U, b = f64(x), f64(kernel), f64(recurrent_kernel), f64(bias)
    B, T, _ = x.shape
    H = U.shape[0]
    h = np.zeros((B, H)) if h0 is None else f64(h0)
    hs = np.zeros((B, T, H))
    for t in range(T):
        h = np.tanh(x[:, t] @ W + h @ U + b)
        hs[:, t] = h
    return hs, h


def simple_rnn_backward(x, h0, kernel, recurrent_kernel, bias, dhs, dh_T):
    """-> dx, dh0, dkernel, drecurrent_kernel, dbias."""
    x, W, U, b = f64(x), f64(kernel), f64(recurrent_kernel), f64(bias)
    B, T, _ = x.shape
    H = U.shape[0]
    h = np.zeros((B, H)) if h0 is None else f64(h0)
    prevs, outs = [], []
    for t in range(T):
        prevs.append(h)
        h = np.tanh(x[:, t] @ W + h @ U + b)
        outs.append(h)
    dx = np.zeros_like(x)
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    dh = np.zeros((B, H)) if dh_T is None else f64(dh_T).copy()
    for t in reversed(range(T)):
        if dhs is not None:
            dh = dh + f64(dhs)[:, t]
        da = dh * (1 - outs[t] ** 2)
        dx[:, t] = da @ W.T
        dW += x[:, t].T @ da
        dU += prevs[t].T @ da
        db += da.sum(axis=0)
        dh = da @ U.T
    return dx, dh, dW, dU, db
# ---------------------------------------------------------------------------------- activations
# Forward f(x) and derivative f'(x); the kernels' backward is dy * f'(x) (relu/sigmoid/tanh take y).

import math  # noqa: E402  (math.erfc: NumPy has no erf)

_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def relu(x):
    return np.maximum(f64(x), 0.0)


def relu_grad(x):
    return (f64(x) > 0).astype(np.float64)


def leaky_relu(x, slope=0.2):
    x = f64(x)
    return np.where(x > 0, x, slope * x)


def leaky_relu_grad(x, slope=0.2):
    return np.where(f64(x) > 0, 1.0, slope)


def elu(x, alpha=1.0):
    x = f64(x)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def elu_grad(x, alpha=1.0):
    x = f64(x)
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0)))


def sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -f64(x)))  # 1 / (1 + e^-x) without overflow


def sigmoid_grad(x):
    s = sigmoid(x)
    return s * sigmoid(-f64(x))


def tanh(x):
    return np.tanh(f64(x))


def tanh_grad(x):
    return 1.0 - np.tanh(f64(x)) ** 2


def softplus(x):
    return np.logaddexp(0.0, f64(x))


def softplus_grad(x):
    return sigmoid(x)


def silu(x):
    return f64(x) * sigmoid(x)


def silu_grad(x):
    x = f64(x)
    return sigmoid(x) * (1.0 + x * sigmoid(-x))


def gelu(x, approximate=False):
    x = f64(x)
    if approximate:
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * _erfc(-x / math.sqrt(2.0))  # x Phi(x); erfc keeps Phi accurate for x << 0


def gelu_grad(x, approximate=False):
    x = f64(x)
    if approximate:
        c = math.sqrt(2.0 / math.pi)
        u = c * (x + 0.044715 * x ** 3)
        du = c * (1.0 + 3 * 0.044715 * x ** 2)
        t = np.tanh(u)
        return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t ** 2) * du
    cdf = 0.5 * _erfc(-x / math.sqrt(2.0))
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return cdf + x * pdf


def softmax(x, axis=-1):
    x = f64(x)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True, initial=-np.inf))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    x = f64(x)
    z = x - np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def softmax_backward(dy, y, axis=-1):
    """dx = y * (dy - sum(dy * y)) for y = softmax(x)."""
    dy, y = f64(dy), f64(y)
    return y * (dy - np.sum(dy * y, axis=axis, keepdims=True))


def log_softmax_backward(dy, y, axis=-1):
    """dx = dy - softmax(x) * sum(dy) for y = log_softmax(x)."""
    dy, y = f64(dy), f64(y)
    return dy - np.exp(y) * np.sum(dy, axis=axis, keepdims=True)


# --------------------------------------------------------------------------------------- losses
# Per-sample losses (N,) from the formula; reduce() applies Keras's reductions and sample weights.

KERAS_EPS = 1e-7


def reduce_loss(per_sample, reduction="mean", sample_weight=None):
    per_sample = f64(per_sample)
    if sample_weight is not None:
        per_sample = per_sample * f64(sample_weight)
    if reduction == "none":
        return per_sample
    total = np.sum(per_sample)
    return total / per_sample.shape[0] if reduction == "mean" and per_sample.shape[0] else total


def softmax_xent_per_sample(logits, labels):
    """labels int (N,) or float (N, C): -sum_c t_c log softmax(x)_c."""
    logp = log_softmax(logits, axis=1)
    labels = np.asarray(labels)
    if labels.dtype.kind in "iu":
        return -logp[np.arange(logp.shape[0]), labels]
    return -np.sum(f64(labels) * logp, axis=1)


def categorical_xent_per_sample(probs, targets, eps=KERAS_EPS):
    p = f64(probs)
    q = np.clip(p / np.sum(p, axis=1, keepdims=True), eps, 1.0 - eps)
    return -np.sum(f64(targets) * np.log(q), axis=1)


def sparse_categorical_xent_per_sample(probs, labels, eps=KERAS_EPS):
    onehot = np.zeros(np.shape(probs))
    onehot[np.arange(onehot.shape[0]), np.asarray(labels)] = 1.0
    return categorical_xent_per_sample(probs, onehot, eps)


def _flat(x):
    x = f64(x)
    return x.reshape(x.shape[0], int(np.prod(x.shape[1:])))  # (0, d) too: -1 cannot be inferred from 0


def binary_xent_per_sample(probs, targets, eps=KERAS_EPS):
    q = np.clip(_flat(probs), eps, 1.0 - eps)
    t = _flat(targets)
    return np.mean(-(t * np.log(q) + (1.0 - t) * np.log(1.0 - q)), axis=1)


def binary_xent_logits_per_sample(logits, targets):
    x, t = _flat(logits), _flat(targets)
    return np.mean(np.maximum(x, 0.0) - x * t + np.log1p(np.exp(-np.abs(x))), axis=1)


def mse_per_sample(pred, target):
    return np.mean((_flat(pred) - _flat(target)) ** 2, axis=1)


def mae_per_sample(pred, target):
    return np.mean(np.abs(_flat(pred) - _flat(target)), axis=1)


# ------------------------------------------------------------------------------ optimizer steps
# One step of each update rule (PyTorch's formulas) in float64 on copies: returns the new
# parameter and the new state.

def sgd_step(p, g, lr, momentum=0.0, buf=None, nesterov=False, weight_decay=0.0):
    p, g = f64(p).copy(), f64(g)
    g = g + weight_decay * p
    if momentum != 0.0:
        buf = momentum * f64(buf) + g
        g = g + momentum * buf if nesterov else buf
    return p - lr * g, buf


def adagrad_step(p, g, acc, lr, eps=1e-7, weight_decay=0.0):
    p, g = f64(p).copy(), f64(g)
    g = g + weight_decay * p
    acc = f64(acc) + g * g
    return p - lr * g / (np.sqrt(acc) + eps), acc


def rmsprop_step(p, g, sq, lr, rho=0.9, eps=1e-7, momentum=0.0, buf=None, centered=False, gavg=None,
                 weight_decay=0.0):
    p, g = f64(p).copy(), f64(g)
    g = g + weight_decay * p
    sq = rho * f64(sq) + (1 - rho) * g * g
    if centered:
        gavg = rho * f64(gavg) + (1 - rho) * g
        denom = np.sqrt(sq - gavg * gavg) + eps
    else:
        denom = np.sqrt(sq) + eps
    if momentum != 0.0:
        buf = momentum * f64(buf) + g / denom
        return p - lr * buf, sq, buf, gavg
    return p - lr * g / denom, sq, buf, gavg


def adam_step(p, g, m, v, lr, step, beta1=0.9, beta2=0.999, eps=1e-7, weight_decay=0.0, decoupled=False,
              amsgrad=False, vmax=None):
    p, g = f64(p).copy(), f64(g)
    if decoupled:
        p = p * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * p
    m = beta1 * f64(m) + (1 - beta1) * g
    v = beta2 * f64(v) + (1 - beta2) * g * g
    vv = v
    if amsgrad:
        vmax = np.maximum(f64(vmax), v)
        vv = vmax
    bc1 = 1 - beta1 ** step
    bc2 = 1 - beta2 ** step
    p = p - (lr / bc1) * m / (np.sqrt(vv) / math.sqrt(bc2) + eps)
    return p, m, v, vmax


# Gradients of the reduced losses w.r.t. the prediction, from the formulas above: per-sample
# derivative times w_i, divided by N for "mean" ("none": the gradient of the sum).

def _row_scale(n, reduction, sample_weight):
    w = np.ones(n) if sample_weight is None else f64(sample_weight)
    return (w / n if reduction == "mean" and n else w).reshape(n, 1)


def loss_grad(name, pred, target, reduction="mean", sample_weight=None, eps=KERAS_EPS):
    """name: softmax_xent, categorical_xent, sparse_categorical_xent, binary_xent, binary_xent_logits, mse, mae."""
    shape = np.shape(pred)
    n = shape[0]
    x = _flat(pred)
    if name in ("sparse_categorical_xent",) or (name == "softmax_xent" and np.asarray(target).dtype.kind in "iu"):
        t = np.zeros(x.shape)
        t[np.arange(n), np.asarray(target)] = 1.0
    else:
        t = _flat(target)
    d = x.shape[1]
    if name == "softmax_xent":
        g = np.sum(t, axis=1, keepdims=True) * softmax(x, axis=1) - t
    elif name in ("categorical_xent", "sparse_categorical_xent"):
        s = np.sum(x, axis=1, keepdims=True)
        q = x / s
        inside = (q > eps) & (q < 1.0 - eps)
        dq = np.where(inside, -t / np.clip(q, eps, 1.0 - eps), 0.0)
        g = (dq - np.sum(dq * q, axis=1, keepdims=True)) / s
    elif name == "binary_xent":
        q = np.clip(x, eps, 1.0 - eps)
        inside = ~((x <= eps) | (x >= 1.0 - eps))  # zero gradient where clipped; NaN stays NaN
        g = np.where(inside, -(t / q - (1.0 - t) / (1.0 - q)), 0.0) / d
    elif name == "binary_xent_logits":
        g = (sigmoid(x) - t) / d
    elif name == "mse":
        g = 2.0 * (x - t) / d
    elif name == "mae":
        g = np.sign(x - t) / d
    else:
        raise ValueError(name)
    return (g * _row_scale(n, reduction, sample_weight)).reshape(shape)


# ------------------------------------------------------------------------------ optimizers, both APIs
# A whole run of an optimizer in float64: w0, the gradient of each step, the learning rate of each
# step; returns the final parameter. keras_run follows Keras 3's update_step formulas (weight decay
# decoupled: p -= p * wd * lr before the step), torch_run torch.optim's (single-tensor loops).

def _keras_mu(b1, t):
    return b1 * (1.0 - 0.5 * 0.96 ** t)


def keras_run(name, w0, grads, lrs, weight_decay=0.0, **hp):
    p = f64(w0).copy()
    z = np.zeros_like(p)
    s = {"a": z.copy(), "b": z.copy(), "c": z.copy()}
    u_product = 1.0
    for t, (g, lr) in enumerate(zip(grads, lrs), start=1):
        g = f64(g)
        p = p - p * weight_decay * lr
        if name == "sgd":
            mu = hp.get("momentum", 0.0)
            if mu:
                s["a"] = mu * s["a"] - lr * g
                p = p + (mu * s["a"] - lr * g if hp.get("nesterov") else s["a"])
            else:
                p = p - lr * g
        elif name == "adagrad":
            if t == 1:
                s["a"] = s["a"] + hp.get("initial_accumulator_value", 0.1)
            s["a"] = s["a"] + g * g
            p = p - lr * g / np.sqrt(s["a"] + hp.get("epsilon", 1e-7))
        elif name == "rmsprop":
            rho, eps, mu = hp.get("rho", 0.9), hp.get("epsilon", 1e-7), hp.get("momentum", 0.0)
            s["a"] = rho * s["a"] + (1 - rho) * g * g
            if hp.get("centered"):
                s["b"] = rho * s["b"] + (1 - rho) * g
                denom = s["a"] - s["b"] ** 2 + eps
            else:
                denom = s["a"] + eps
            inc = lr * g / np.sqrt(denom)
            if mu:
                s["c"] = mu * s["c"] + inc
                p = p - s["c"]
            else:
                p = p - inc
        elif name == "adam":
            b1, b2, eps = hp.get("beta_1", 0.9), hp.get("beta_2", 0.999), hp.get("epsilon", 1e-7)
            s["a"] = s["a"] + (g - s["a"]) * (1 - b1)
            s["b"] = s["b"] + (g * g - s["b"]) * (1 - b2)
            v = s["b"]
            if hp.get("amsgrad"):
                s["c"] = np.maximum(s["c"], s["b"])
                v = s["c"]
            alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            p = p - s["a"] * alpha / (np.sqrt(v) + eps)
        elif name == "nadam":
            b1, b2, eps = hp.get("beta_1", 0.9), hp.get("beta_2", 0.999), hp.get("epsilon", 1e-7)
            u_product = u_product * _keras_mu(b1, t)
            u_t, u_next = _keras_mu(b1, t), _keras_mu(b1, t + 1)
            s["a"] = s["a"] + (g - s["a"]) * (1 - b1)
            s["b"] = s["b"] + (g * g - s["b"]) * (1 - b2)
            m_hat = u_next * s["a"] / (1 - u_product * u_next) + (1 - u_t) * g / (1 - u_product)
            v_hat = s["b"] / (1 - b2 ** t)
            p = p - m_hat * lr / (np.sqrt(v_hat) + eps)
        elif name == "adamax":
            b1, b2, eps = hp.get("beta_1", 0.9), hp.get("beta_2", 0.999), hp.get("epsilon", 1e-7)
            s["a"] = s["a"] + (g - s["a"]) * (1 - b1)
            s["b"] = np.maximum(b2 * s["b"], np.abs(g))
            p = p - lr * s["a"] / ((1 - b1 ** t) * (s["b"] + eps))
        elif name == "adadelta":
            rho, eps = hp.get("rho", 0.95), hp.get("epsilon", 1e-7)
            s["a"] = rho * s["a"] + (1 - rho) * g * g
            delta = -np.sqrt(s["b"] + eps) * g / np.sqrt(s["a"] + eps)
            s["b"] = rho * s["b"] + (1 - rho) * delta * delta
            p = p + lr * delta
        elif name == "lion":
            b1, b2 = hp.get("beta_1", 0.9), hp.get("beta_2", 0.99)
            p = p - lr * np.sign(b1 * s["a"] + (1 - b1) * g)
            s["a"] = b2 * s["a"] + (1 - b2) * g
        else:
            raise ValueError(name)
    return p


def torch_run(name, w0, grads, lrs, weight_decay=0.0, maximize=False, **hp):
    p = f64(w0).copy()
    z = np.zeros_like(p)
    s = {"a": z.copy(), "b": z.copy(), "c": z.copy()}
    mu_product = 1.0
    for t, (g, lr) in enumerate(zip(grads, lrs), start=1):
        g = -f64(g) if maximize else f64(g)
        wd = weight_decay
        if name == "sgd":
            mu, damp = hp.get("momentum", 0.0), hp.get("dampening", 0.0)
            g = g + wd * p
            if mu:
                s["a"] = g.copy() if t == 1 else mu * s["a"] + (1 - damp) * g
                g = g + mu * s["a"] if hp.get("nesterov") else s["a"]
            p = p - lr * g
        elif name == "adagrad":
            g = g + wd * p
            if t == 1:
                s["a"] = s["a"] + hp.get("initial_accumulator_value", 0.0)
            clr = lr / (1 + (t - 1) * hp.get("lr_decay", 0.0))
            s["a"] = s["a"] + g * g
            p = p - clr * g / (np.sqrt(s["a"]) + hp.get("eps", 1e-10))
        elif name == "rmsprop":
            alpha, eps, mu = hp.get("alpha", 0.99), hp.get("eps", 1e-8), hp.get("momentum", 0.0)
            g = g + wd * p
            s["a"] = alpha * s["a"] + (1 - alpha) * g * g
            if hp.get("centered"):
                s["b"] = alpha * s["b"] + (1 - alpha) * g
                avg = np.sqrt(s["a"] - s["b"] ** 2) + eps
            else:
                avg = np.sqrt(s["a"]) + eps
            if mu:
                s["c"] = mu * s["c"] + g / avg
                p = p - lr * s["c"]
            else:
                p = p - lr * g / avg
        elif name in ("adam", "adamw"):
            b1, b2 = hp.get("betas", (0.9, 0.999))
            eps = hp.get("eps", 1e-8)
            if name == "adamw" or hp.get("decoupled_weight_decay"):
                p = p * (1 - lr * wd)
            else:
                g = g + wd * p
            s["a"] = b1 * s["a"] + (1 - b1) * g
            s["b"] = b2 * s["b"] + (1 - b2) * g * g
            v = s["b"]
            if hp.get("amsgrad"):
                s["c"] = np.maximum(s["c"], s["b"])
                v = s["c"]
            p = p - lr / (1 - b1 ** t) * s["a"] / (np.sqrt(v) / math.sqrt(1 - b2 ** t) + eps)
        elif name == "nadam":
            b1, b2 = hp.get("betas", (0.9, 0.999))
            eps, decay = hp.get("eps", 1e-8), hp.get("momentum_decay", 4e-3)
            if hp.get("decoupled_weight_decay"):
                p = p * (1 - lr * wd)
            else:
                g = g + wd * p
            mu = b1 * (1 - 0.5 * 0.96 ** (t * decay))
            mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * decay))
            mu_product = mu_product * mu
            s["a"] = b1 * s["a"] + (1 - b1) * g
            s["b"] = b2 * s["b"] + (1 - b2) * g * g
            denom = np.sqrt(s["b"] / (1 - b2 ** t)) + eps
            p = p - lr * (1 - mu) / (1 - mu_product) * g / denom
            p = p - lr * mu_next / (1 - mu_product * mu_next) * s["a"] / denom
        elif name == "adamax":
            b1, b2 = hp.get("betas", (0.9, 0.999))
            g = g + wd * p
            s["a"] = b1 * s["a"] + (1 - b1) * g
            s["b"] = np.maximum(b2 * s["b"], np.abs(g) + hp.get("eps", 1e-8))
            p = p - lr / (1 - b1 ** t) * s["a"] / s["b"]
        elif name == "adadelta":
            rho, eps = hp.get("rho", 0.9), hp.get("eps", 1e-6)
            g = g + wd * p
            s["a"] = rho * s["a"] + (1 - rho) * g * g
            delta = np.sqrt(s["b"] + eps) / np.sqrt(s["a"] + eps) * g
            s["b"] = rho * s["b"] + (1 - rho) * delta * delta
            p = p - lr * delta
        elif name == "lion":
            b1, b2 = hp.get("betas", (0.9, 0.99))
            p = p * (1 - lr * wd)
            p = p - lr * np.sign(b1 * s["a"] + (1 - b1) * g)
            s["a"] = b2 * s["a"] + (1 - b2) * g
        else:
            raise ValueError(name)
    return p


# ------------------------------------------------------------------------------ more losses (Keras's formulas)
# Per-sample values, the mean (or sum) over the last axis, in float64; (N,) inputs are N samples.

def _pair2(t, p):
    t, p = f64(t), f64(p)
    return (t.reshape(-1, 1), p.reshape(-1, 1)) if p.ndim == 1 else (t, p)


def mape_per_sample(t, p):
    t, p = _pair2(t, p)
    return 100.0 * np.mean(np.abs((t - p) / np.maximum(np.abs(t), KERAS_EPS)), axis=-1)


def msle_per_sample(t, p):
    t, p = _pair2(t, p)
    return np.mean((np.log(np.maximum(p, KERAS_EPS) + 1) - np.log(np.maximum(t, KERAS_EPS) + 1)) ** 2, axis=-1)


def huber_per_sample(t, p, delta=1.0):
    t, p = _pair2(t, p)
    a = np.abs(p - t)
    return np.mean(np.where(a <= delta, 0.5 * a * a, delta * (a - 0.5 * delta)), axis=-1)


def log_cosh_per_sample(t, p):
    t, p = _pair2(t, p)
    return np.mean(np.log(np.cosh(p - t)), axis=-1)


def cosine_similarity_per_sample(t, p):
    t, p = _pair2(t, p)
    nt = t / np.maximum(np.linalg.norm(t, axis=-1, keepdims=True), KERAS_EPS)
    np_ = p / np.maximum(np.linalg.norm(p, axis=-1, keepdims=True), KERAS_EPS)
    return -np.sum(nt * np_, axis=-1)


def _hinge_labels(t):
    return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t


def hinge_per_sample(t, p):
    t, p = _pair2(t, p)
    return np.mean(np.maximum(1 - _hinge_labels(t) * p, 0), axis=-1)


def squared_hinge_per_sample(t, p):
    t, p = _pair2(t, p)
    return np.mean(np.maximum(1 - _hinge_labels(t) * p, 0) ** 2, axis=-1)


def categorical_hinge_per_sample(t, p):
    t, p = f64(t), f64(p)
    pos = np.sum(t * p, axis=-1)
    neg = np.max((1 - t) * p, axis=-1)
    return np.maximum(neg - pos + 1, 0)


def kl_divergence_per_sample(t, p):
    t, p = _pair2(t, p)
    t, p = np.clip(t, KERAS_EPS, 1), np.clip(p, KERAS_EPS, 1)
    return np.sum(t * np.log(t / p), axis=-1)


def poisson_per_sample(t, p):
    t, p = _pair2(t, p)
    return np.mean(p - t * np.log(p + KERAS_EPS), axis=-1)


def reduce_keras(per_sample, reduction="sum_over_batch_size", sample_weight=None):
    """Keras's reduce_weighted_values: weights broadcast from the batch axis; sum / count of values."""
    v = f64(per_sample)
    w = np.ones_like(v) if sample_weight is None else np.broadcast_to(
        f64(sample_weight).reshape((-1,) + (1,) * (v.ndim - 1)), v.shape)
    v = v * w
    if reduction in ("none", None):
        return v
    if reduction == "sum":
        return v.sum()
    if reduction == "mean_with_sample_weight":
        return v.sum() / w.sum()
    return v.sum() / v.size


# ------------------------------------------------------------------------------ metrics (Keras's definitions)

def confusion_at(y_true, y_pred, thresholds, weights=None):
    """(tp, fp, tn, fn) at each threshold, a prediction being positive when it is > the threshold."""
    y = np.asarray(y_true).reshape(-1).astype(bool)
    p = f64(y_pred).reshape(-1)
    w = np.ones_like(p) if weights is None else f64(weights).reshape(-1)
    out = []
    for th in thresholds:
        pos = p > th
        out.append((w[pos & y].sum(), w[pos & ~y].sum(), w[~pos & ~y].sum(), w[~pos & y].sum()))
    return [np.array(c) for c in zip(*out)]


def auc(y_true, y_pred, num_thresholds=200, curve="ROC", summation="interpolation", weights=None):
    """Keras's AUC: a Riemann sum over confusion counts at evenly spaced thresholds."""
    eps = KERAS_EPS
    th = [-eps] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1 + eps]
    tp, fp, tn, fn = confusion_at(y_true, np.clip(f64(y_pred), 0, 1), th, weights)

    def div(a, b):
        return np.array([x / y if y > 0 else 0.0 for x, y in zip(a, b)])

    if curve == "PR" and summation == "interpolation":
        total = 0.0
        for i in range(num_thresholds - 1):
            dtp = tp[i] - tp[i + 1]
            pa, pb = tp[i] + fp[i], tp[i + 1] + fp[i + 1]
            slope = dtp / (pa - pb) if pa - pb > 0 else 0.0
            intercept = tp[i + 1] - slope * pb
            ratio = pa / pb if pa > 0 and pb > 0 else 1.0
            denom = tp[i + 1] + fn[i + 1]
            total += slope * (dtp + intercept * math.log(ratio)) / denom if denom > 0 else 0.0
        return total
    recall = div(tp, tp + fn)
    x, y = (div(fp, fp + tn), recall) if curve == "ROC" else (recall, div(tp, tp + fp))
    area = 0.0
    for i in range(num_thresholds - 1):
        h = {"interpolation": (y[i] + y[i + 1]) / 2, "minoring": min(y[i], y[i + 1]),
             "majoring": max(y[i], y[i + 1])}[summation]
        area += (x[i] - x[i + 1]) * h
    return area


def fbeta(y_true, y_pred, beta=1.0, average=None, threshold=None, weights=None):
    t, p = f64(y_true), f64(y_pred)
    pred = (p >= p.max(axis=1, keepdims=True)) & (np.abs(p) > 1e-9) if threshold is None else p > threshold
    pred = pred.astype(float)
    w = np.ones(len(t)) if weights is None else f64(weights)
    w = w[:, None]
    tp, fp, fn = (pred * t * w).sum(0), (pred * (1 - t) * w).sum(0), ((1 - pred) * t * w).sum(0)
    support = (t * w).sum(0)
    if average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
    prec, rec = tp / (tp + fp + KERAS_EPS), tp / (tp + fn + KERAS_EPS)
    f = (1 + beta ** 2) * prec * rec / (beta ** 2 * prec + rec + KERAS_EPS)
    if average == "weighted":
        return float((f * support / (support.sum() + KERAS_EPS)).sum())
    return float(np.mean(f)) if average else f


def r2(y_true, y_pred, weights=None, aggregation="uniform_average", num_regressors=0):
    t, p = f64(y_true), f64(y_pred)
    w = np.ones_like(t) if weights is None else np.broadcast_to(f64(weights)[:, None], t.shape)
    mean = (w * t).sum(0) / w.sum(0)
    ss_tot = (w * (t - mean) ** 2).sum(0)
    ss_res = (w * (t - p) ** 2).sum(0)
    raw = 1 - ss_res / ss_tot
    score = raw.mean() if aggregation == "uniform_average" else (
        (ss_tot * raw).sum() / ss_tot.sum() if aggregation == "variance_weighted_average" else raw)
    n = t.size
    if num_regressors and num_regressors < n - 1:
        score = 1 - (1 - score) * (n - 1) / (n - num_regressors - 1)
    return score


def in_top_k(labels, y_pred, k):
    p = f64(y_pred)
    return np.array([float(np.sum(row > row[lab]) < k) for row, lab in zip(p, np.asarray(labels))])
