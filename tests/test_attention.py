"""Attention and MultiHeadAttention: float64 references (Keras's formulas), masks (padding, explicit,
causal), attention scores, dropout in training only, gradient checks, config and model-file round
trips (functional models, several inputs, masks as inputs), bad arguments; Keras 3 with copied weights
where it is installed."""
import os

import numpy as np
import pytest

import dlcore as dl
from harness import assert_close, make, raises
from layer_checks import config_roundtrip, save_roundtrip
import reference as ref


def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    k = pytest.importorskip("keras")
    if k.backend.backend() != "torch":
        pytest.skip("keras is installed with another backend than torch")
    return k


def mha_weights(layer):
    return [p.numpy() for p in layer.weights]


# ------------------------------------------------------------------------------------- Attention

@pytest.mark.parametrize("use_scale,score_mode", [(False, "dot"), (True, "dot"), (False, "concat"), (True, "concat")])
def test_attention(use_scale, score_mode, rng):
    layer = dl.layers.Attention(use_scale=use_scale, score_mode=score_mode, dtype="float64")
    q, v, k = make((2, 3, 4), np.float64, rng), make((2, 5, 4), np.float64, rng), make((2, 5, 4), np.float64, rng)
    out, w = layer([q, v, k], return_attention_scores=True)
    if use_scale:
        layer.scale.data[...] = 0.7
    if score_mode == "concat":
        layer.concat_score_weight.data[...] = 1.3
    out, w = layer([q, v, k], return_attention_scores=True)
    expect, weights = ref.attention(q, v, k, scale=0.7 if use_scale else None,
                                    concat_weight=1.3 if score_mode == "concat" else None)
    assert_close(out.numpy(), expect, np.float64)
    assert_close(w.numpy(), weights, np.float64)
    assert_close(layer([q, v]).numpy(), ref.attention(q, v, scale=0.7 if use_scale else None,
                                                     concat_weight=1.3 if score_mode == "concat" else None)[0],
                 np.float64)
    tensors = [dl.tensor(a, requires_grad=True) for a in (q, v, k)]
    assert dl.testing.gradcheck(lambda q, v, k: layer([q, v, k]), tensors)
    if use_scale:  # the learned scale gets its gradient
        layer.scale.grad = None
        layer([q, v]).sum().backward()
        assert layer.scale.grad is not None
    config_roundtrip(layer)


def test_attention_masks(rng):
    layer = dl.layers.Attention(dtype="float64")
    q, v = make((2, 4, 3), np.float64, rng), make((2, 4, 3), np.float64, rng)
    q_mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)
    v_mask = np.array([[1, 1, 0, 0], [1, 1, 1, 0]], bool)
    out, w = layer([q, v], mask=[q_mask, v_mask], return_attention_scores=True, use_causal_mask=True)
    expect, weights = ref.attention(q, v, q_mask=q_mask, v_mask=v_mask, causal=True)
    assert_close(out.numpy(), expect, np.float64)
    assert_close(w.numpy(), weights, np.float64)
    assert not out.numpy()[0, 3].any()  # a masked query step outputs zeros
    assert not w.numpy()[:, 0, 1:].any()  # step 0 sees only itself
    out2 = layer([q, v], mask=[None, v_mask.astype(np.float32)])  # 0/1 masks work too; either may be None
    assert_close(out2.numpy(), ref.attention(q, v, v_mask=v_mask)[0], np.float64)


def test_attention_dropout_only_in_training(rng):
    layer = dl.layers.Attention(dropout=0.5, seed=0)
    q = make((2, 6, 4), np.float32, rng)
    _, w_eval = layer([q, q], return_attention_scores=True, training=False)
    assert np.allclose(w_eval.numpy().sum(-1), 1.0, atol=1e-6)
    _, w_train = layer([q, q], return_attention_scores=True, training=True)
    assert (w_train.numpy() == 0).any()


def test_attention_functional_model(rng, tmp_path):
    q, v = make((2, 3, 4), np.float32, rng), make((2, 5, 4), np.float32, rng)
    loaded = save_roundtrip(tmp_path, dl.layers.Attention(use_scale=True), q, v, return_attention_scores=True)
    out, w = loaded([q, v])
    assert out.shape == (2, 3, 4) and w.shape == (2, 3, 5)


def test_attention_errors(rng):
    q = np.ones((2, 3, 4), "float32")
    with raises(ValueError, "Attention", "score_mode", "'add'"):
        dl.layers.Attention(score_mode="add")
    with raises(ValueError, "Attention", "dropout", "1.5"):
        dl.layers.Attention(dropout=1.5)
    with raises(ValueError, "Attention", "[query, value]"):
        dl.layers.Attention()(q)
    with raises(ValueError, "Attention", "incompatible shapes", "(2, 3, 4)", "(2, 5, 3)"):
        dl.layers.Attention()([q, np.ones((2, 5, 3), "float32")])
    with raises(ValueError, "Attention", "value_mask", "(2, 3)", "(2, 4)"):
        dl.layers.Attention()([q, q], mask=[None, np.ones((2, 4), bool)])
    with raises(ValueError, "Attention", "must be 3-D", "(2, 4)"):
        dl.layers.Attention()([q[:, 0], q])


# ------------------------------------------------------------------------------------- MultiHeadAttention

@pytest.mark.parametrize("kwargs", [dict(num_heads=2, key_dim=3), dict(num_heads=3, key_dim=2, value_dim=4),
                                    dict(num_heads=1, key_dim=5, use_bias=False, output_shape=6)])
def test_multi_head_attention(kwargs, rng):
    layer = dl.layers.MultiHeadAttention(**kwargs, dtype="float64",
                                         bias_initializer=dl.initializers.RandomNormal(0.0, 0.1, seed=2))
    query, value, key = make((2, 4, 5), np.float64, rng), make((2, 6, 3), np.float64, rng), make((2, 6, 7), np.float64,
                                                                                                    rng)
    out, scores = layer(query, value, key, return_attention_scores=True)
    h, kd = kwargs["num_heads"], kwargs["key_dim"]
    vd = kwargs.get("value_dim", kd)
    weights = mha_weights(layer)
    if not kwargs.get("use_bias", True):  # zero biases where there are none
        wq, wk, wv, wo = weights
        weights = [wq, np.zeros((h, kd)), wk, np.zeros((h, kd)), wv, np.zeros((h, vd)), wo, np.zeros(wo.shape[-1])]
    expect, expect_scores = ref.multi_head_attention(query, value, key, *weights)
    assert out.shape == (2, 4, kwargs.get("output_shape", 5)) and scores.shape == (2, h, 4, 6)
    assert_close(out.numpy(), expect, np.float64)
    assert_close(scores.numpy(), expect_scores, np.float64)
    tensors = [dl.tensor(a, requires_grad=True) for a in (query, value, key)]
    assert dl.testing.gradcheck(lambda q, v, k: layer(q, v, k), tensors)
    config_roundtrip(layer)


def test_mha_weight_gradients(rng):
    layer = dl.layers.MultiHeadAttention(2, 3, dtype="float64")
    x = make((2, 4, 5), np.float64, rng)
    layer(x, x)
    params = layer.weights
    r = make((2, 4, 5), np.float64, rng)

    def loss():
        with dl.no_grad():
            return float((layer(x, x).numpy() * r).sum())

    for p in params:
        p.grad = None
    (layer(x, x) * dl.tensor(r)).sum().backward()
    for p in params:  # a finite difference along a random direction, for every weight
        u = rng.standard_normal(p.shape)
        p0 = p.data.copy()
        p.data[...] = p0 + 1e-6 * u
        up = loss()
        p.data[...] = p0 - 1e-6 * u
        down = loss()
        p.data[...] = p0
        assert abs((up - down) / 2e-6 - float((p.grad * u).sum())) < 1e-6 * max(1.0, abs(up))


def test_mha_masks(rng):
    layer = dl.layers.MultiHeadAttention(2, 3, dtype="float64")
    q, v = make((2, 4, 5), np.float64, rng), make((2, 6, 5), np.float64, rng)
    layer(q, v)
    weights = mha_weights(layer)
    attention_mask = rng.random((2, 4, 6)) > 0.3
    query_mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)
    value_mask = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], bool)
    key_mask = np.array([[1, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0]], bool)
    combined = attention_mask & query_mask[:, :, None] & value_mask[:, None] & key_mask[:, None]
    combined &= np.tril(np.ones((4, 6), bool))[None]
    out, scores = layer(q, v, attention_mask=attention_mask, query_mask=query_mask, value_mask=value_mask,
                        key_mask=key_mask, use_causal_mask=True, return_attention_scores=True)
    expect, expect_scores = ref.multi_head_attention(q, v, v, *weights, mask=combined)
    assert_close(out.numpy(), expect, np.float64)
    assert_close(scores.numpy(), expect_scores, np.float64)
    assert not scores.numpy()[0, :, 3].any()  # a masked query row: zero weights (Keras's masked softmax)


def test_mha_dropout_only_in_training(rng):
    layer = dl.layers.MultiHeadAttention(2, 4, dropout=0.5, seed=1)
    x = make((2, 5, 8), np.float32, rng)
    a = layer(x, x, training=False).numpy()
    assert np.array_equal(a, layer(x, x, training=False).numpy())
    assert not np.allclose(a, layer(x, x, training=True).numpy())


def test_mha_self_attention_model_trains_and_saves(rng, tmp_path):
    inputs = dl.Input(shape=(6, 8))
    h = dl.layers.MultiHeadAttention(2, 4)(inputs, inputs, use_causal_mask=True)
    h = dl.layers.LayerNormalization()(h)
    outputs = dl.layers.Dense(1)(dl.layers.GlobalAveragePooling1D()(h))
    model = dl.Model(inputs, outputs)
    x, y = make((32, 6, 8), np.float32, rng), make((32, 1), np.float32, rng)
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, epochs=15, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    before = model.predict(x, verbose=0)
    model.save(tmp_path / "mha.dlc")
    np.testing.assert_array_equal(dl.models.load_model(tmp_path / "mha.dlc").predict(x, verbose=0), before)


def test_mha_functional_masks_as_inputs(rng, tmp_path):
    q, v = make((2, 4, 5), np.float32, rng), make((2, 6, 5), np.float32, rng)
    mask = (rng.random((2, 4, 6)) > 0.3).astype(np.float32)
    layer = dl.layers.MultiHeadAttention(2, 3)
    qi, vi, mi = dl.Input(shape=(4, 5)), dl.Input(shape=(6, 5)), dl.Input(shape=(4, 6))
    out, scores = layer(qi, vi, attention_mask=mi, return_attention_scores=True)
    assert out.shape == (None, 4, 5) and scores.shape == (None, 2, 4, 6)
    model = dl.Model([qi, vi, mi], [out, scores])
    got_out, got_scores = model([q, v, mask])
    want_out, want_scores = layer(q, v, attention_mask=mask, return_attention_scores=True)
    np.testing.assert_allclose(got_out.numpy(), want_out.numpy(), rtol=1e-6)
    assert not got_scores.numpy()[mask[:, None].repeat(2, 1) == 0].any()
    model.save(tmp_path / "masked.dlc")
    again = dl.models.load_model(tmp_path / "masked.dlc")([q, v, mask])
    np.testing.assert_array_equal(again[0].numpy(), got_out.numpy())
    save_roundtrip(tmp_path, dl.layers.MultiHeadAttention(1, 2, value_dim=3, output_shape=7), q, v, name="v.dlc")


def test_mha_errors(rng):
    x = np.ones((2, 3, 4), "float32")
    with raises(ValueError, "MultiHeadAttention", "num_heads", "0"):
        dl.layers.MultiHeadAttention(0, 4)
    with raises(ValueError, "MultiHeadAttention", "key_dim", "'4'"):
        dl.layers.MultiHeadAttention(2, "4")
    with raises(ValueError, "MultiHeadAttention", "attention_axes", "(1, 2)", "not implemented"):
        dl.layers.MultiHeadAttention(2, 4, attention_axes=(1, 2))
    with raises(ValueError, "MultiHeadAttention", "flash_attention=True"):
        dl.layers.MultiHeadAttention(2, 4, flash_attention=True)
    with raises(ValueError, "MultiHeadAttention", "output_shape", "(2, 3)"):
        dl.layers.MultiHeadAttention(2, 4, output_shape=(2, 3))
    with raises(ValueError, "MultiHeadAttention", "missing 'value'"):
        dl.layers.MultiHeadAttention(2, 4)(x)
    layer = dl.layers.MultiHeadAttention(2, 4)
    with raises(ValueError, "MultiHeadAttention", "3-D", "(2, 4)"):
        layer(x[:, 0], x[:, 0])
    layer(x, x)
    with raises(ValueError, "MultiHeadAttention", "query", "last dimension 4", "(2, 3, 6)"):
        layer(np.ones((2, 3, 6), "float32"), x)
    with raises(ValueError, "MultiHeadAttention", "attention_mask", "(2, 3, 3)", "(2, 3)"):
        layer(x, x, attention_mask=np.ones((2, 3), bool))
    with raises(ValueError, "MultiHeadAttention", "incompatible shapes", "(2, 5, 4)"):
        layer(x, x, np.ones((2, 5, 4), "float32"))



# ------------------------------------------------------------------------------------- masks the inputs carry

IDS = np.array([[3, 4, 0, 0], [1, 2, 5, 0]])  # 0 pads: Embedding(mask_zero=True) masks those steps


def _embedded(ids=IDS, dim=3, seed=0):
    """(masked, plain, mask): the embeddings of `ids` carrying their mask, the same values without it."""
    emb = dl.layers.Embedding(10, dim, mask_zero=True, dtype="float64",
                              embeddings_initializer=dl.initializers.RandomNormal(seed=seed))
    masked = emb(ids)
    return masked, masked.numpy().copy(), ids != 0


def test_attention_reads_the_masks_its_inputs_carry():
    from dlcore.call_context import get_mask
    masked, plain, m = _embedded()
    layer = dl.layers.Attention(dtype="float64")
    out, w = layer([masked, masked], return_attention_scores=True, use_causal_mask=True)
    expect, weights = ref.attention(plain, plain, q_mask=m, v_mask=m, causal=True)
    assert_close(out.numpy(), expect, np.float64)
    assert_close(w.numpy(), weights, np.float64)
    np.testing.assert_array_equal(get_mask(out), m)  # the output carries the query mask (Keras)
    assert get_mask(w) is None
    # a query without a mask: only the value's is read, and the output carries none
    q = make((2, 3, 3), np.float64, np.random.default_rng(1))
    out = layer([q, masked])
    assert_close(out.numpy(), ref.attention(q, plain, v_mask=m)[0], np.float64)
    assert get_mask(out) is None
    # a mask given to the call replaces the carried ones, as in Keras
    other = np.array([[1, 0, 1, 1], [1, 1, 1, 1]], bool)
    out = layer([masked, masked], mask=[None, other])
    assert_close(out.numpy(), ref.attention(plain, plain, v_mask=other)[0], np.float64)
    assert get_mask(out) is None
    # the key's steps are the value's: a mask the key carries is not read (Keras reads mask[1] only)
    out = layer([plain, plain, masked])
    assert_close(out.numpy(), ref.attention(plain, plain, plain)[0], np.float64)


def test_mha_reads_the_masks_its_inputs_carry():
    from dlcore.call_context import get_mask
    masked, plain, m = _embedded()
    layer = dl.layers.MultiHeadAttention(2, 3, dtype="float64")
    layer(plain, plain)
    weights = mha_weights(layer)
    out, scores = layer(masked, masked, return_attention_scores=True)
    expect, expect_scores = ref.multi_head_attention(plain, plain, plain, *weights, mask=m[:, :, None] & m[:, None])
    assert_close(out.numpy(), expect, np.float64)
    assert_close(scores.numpy(), expect_scores, np.float64)
    np.testing.assert_array_equal(get_mask(out), m)
    # a key other than the value: its mask is the key mask; a mask given to the call wins over the carried one
    k_masked, k_plain, k_m = _embedded(np.array([[1, 1, 1, 0], [2, 0, 0, 0]]), seed=1)
    value_mask = np.array([[1, 1, 0, 1], [1, 1, 1, 1]], bool)
    out = layer(plain, masked, key=k_masked, value_mask=value_mask)
    allowed = np.ones((2, 4, 1), bool) & value_mask[:, None] & k_m[:, None]
    assert_close(out.numpy(), ref.multi_head_attention(plain, plain, k_plain, *weights, mask=allowed)[0], np.float64)
    assert get_mask(out) is None  # the query carries none


def test_masked_embeddings_through_attention_in_a_model(tmp_path):
    ids = dl.Input(shape=(4,), dtype="int64")
    h = dl.layers.Embedding(10, 6, mask_zero=True)(ids)
    h = dl.layers.MultiHeadAttention(2, 3)(h, h)
    h = dl.layers.Attention()([h, h])
    outputs = dl.layers.Dense(1)(dl.layers.GlobalAveragePooling1D()(h))  # averages the unmasked steps
    model = dl.Model(ids, outputs)
    x = np.array([[3, 4, 0, 0], [1, 2, 5, 0], [7, 0, 0, 0]])
    got = model.predict(x, verbose=0)
    emb, mha, att, pool, dense = model.layers
    plain = emb.embeddings.numpy()[x]  # the same embeddings, without their mask: given explicitly below
    m = x != 0
    h = mha(plain, plain, query_mask=m, value_mask=m)
    h = att([h, h], mask=[m, m])
    want = dense(pool(h, mask=m)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, np.ones((3, 1), np.float32), epochs=1, verbose=0)
    model.save(tmp_path / "masked_attention.dlc")
    np.testing.assert_array_equal(dl.models.load_model(tmp_path / "masked_attention.dlc").predict(x, verbose=0),
                                  model.predict(x, verbose=0))


# ------------------------------------------------------------------------------------- Keras 3

@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras's own array conversions under NumPy 2
@pytest.mark.parametrize("kwargs", [dict(num_heads=2, key_dim=3), dict(num_heads=2, key_dim=2, value_dim=3,
                                                                        output_shape=4, use_bias=False)])
def test_mha_matches_keras(kwargs, rng):
    k = keras()
    q, v = make((2, 4, 5), np.float32, rng), make((2, 6, 3), np.float32, rng)
    mask = rng.random((2, 4, 6)) > 0.3
    theirs = k.layers.MultiHeadAttention(**kwargs)
    t_out, t_scores = theirs(q, v, attention_mask=mask, return_attention_scores=True, use_causal_mask=True)
    ours = dl.layers.MultiHeadAttention(**kwargs)
    ours(q, v)
    for p, w in zip(ours.weights, theirs.get_weights()):
        assert p.shape == tuple(w.shape)
        p.data[...] = w
    out, scores = ours(q, v, attention_mask=mask, return_attention_scores=True, use_causal_mask=True)
    assert_close(out.numpy(), np.asarray(t_out.detach().cpu()), np.float32)
    assert_close(scores.numpy(), np.asarray(t_scores.detach().cpu()), np.float32)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("kwargs", [dict(), dict(use_scale=True, score_mode="concat")])
def test_attention_matches_keras(kwargs, rng):
    k = keras()
    q, v = make((2, 3, 4), np.float32, rng), make((2, 5, 4), np.float32, rng)
    masks = [np.array([[1, 1, 0], [1, 1, 1]], bool), np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)]
    theirs = k.layers.Attention(**kwargs)
    t_out, t_w = theirs([q, v], mask=masks, return_attention_scores=True, use_causal_mask=True)
    ours = dl.layers.Attention(**kwargs)
    ours([q, v])
    for p, w in zip(ours.weights, theirs.get_weights()):
        p.data[...] = w
    out, w = ours([q, v], mask=masks, return_attention_scores=True, use_causal_mask=True)
    assert_close(out.numpy(), np.asarray(t_out.detach().cpu()), np.float32)
    assert_close(w.numpy(), np.asarray(t_w.detach().cpu()), np.float32)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_masks_carried_by_embeddings_match_keras():
    k = keras()
    theirs_emb = k.layers.Embedding(10, 4, mask_zero=True)
    theirs_emb.build((None, 4))
    ours_emb = dl.layers.Embedding(10, 4, mask_zero=True)
    ours_emb.set_weights(theirs_emb.get_weights())
    theirs_mha, ours_mha = k.layers.MultiHeadAttention(2, 3), dl.layers.MultiHeadAttention(2, 3)
    theirs_mha(theirs_emb(IDS), theirs_emb(IDS))
    ours_mha(ours_emb(IDS), ours_emb(IDS))
    ours_mha.set_weights(theirs_mha.get_weights())
    for causal in (False, True):
        # Keras's MultiHeadAttention removes the masks of its inputs: embed again before each call
        t_out, t_w = k.layers.Attention()([theirs_emb(IDS)] * 2, return_attention_scores=True,
                                          use_causal_mask=causal)
        out, w = dl.layers.Attention()([ours_emb(IDS)] * 2, return_attention_scores=True, use_causal_mask=causal)
        assert_close(out.numpy(), np.asarray(t_out.detach().cpu()), np.float32)
        assert_close(w.numpy(), np.asarray(t_w.detach().cpu()), np.float32)
        t_out, t_w = theirs_mha(theirs_emb(IDS), theirs_emb(IDS), return_attention_scores=True,
                                use_causal_mask=causal)
        out, w = ours_mha(ours_emb(IDS), ours_emb(IDS), return_attention_scores=True, use_causal_mask=causal)
        assert_close(out.numpy(), np.asarray(t_out.detach().cpu()), np.float32)
        assert_close(w.numpy(), np.asarray(t_w.detach().cpu()), np.float32)
