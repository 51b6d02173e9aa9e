"""Preprocessing layers against plain float64 references, their gradients, configs and model files."""
import numpy as np
import pytest

import dlcore as dl
from dlcore import data

L = dl.layers


# ---- references, written per pixel --------------------------------------------------------------

def ref_resize(img, out_h, out_w, nearest=False):
    """Half-pixel-centre resize of an NHWC batch, one output pixel at a time."""
    n, h, w, c = img.shape
    out = np.zeros((n, out_h, out_w, c))
    for i in range(out_h):
        for j in range(out_w):
            y, x = (i + 0.5) * h / out_h - 0.5, (j + 0.5) * w / out_w - 0.5
            if nearest:
                out[:, i, j] = img[:, min(int(np.floor(y + 0.5)), h - 1), min(int(np.floor(x + 0.5)), w - 1)]
                continue
            y, x = min(max(y, 0), h - 1), min(max(x, 0), w - 1)
            y0, x0 = int(np.floor(y)), int(np.floor(x))
            y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
            ty, tx = y - y0, x - x0
            out[:, i, j] = ((1 - ty) * (1 - tx) * img[:, y0, x0] + (1 - ty) * tx * img[:, y0, x1]
                            + ty * (1 - tx) * img[:, y1, x0] + ty * tx * img[:, y1, x1])
    return out


def ref_read(img, y, x, mode, fill):
    """Pixel (y, x) of one HWC image, read through a fill mode."""
    h, w = img.shape[:2]

    def fix(i, n):
        if mode == "reflect":
            i = i % (2 * n)
            return i if i < n else 2 * n - 1 - i
        if mode == "wrap":
            return i % n
        if mode == "mirror":
            if n == 1:
                return 0
            i = i % (2 * n - 2)
            return i if i < n else 2 * n - 2 - i
        return min(max(i, 0), n - 1)
    if mode == "constant" and not (0 <= y < h and 0 <= x < w):
        return np.full(img.shape[2], fill)
    return img[fix(y, h), fix(x, w)]


def ref_affine(img, t, mode="reflect", fill=0.0, nearest=False):
    """One HWC image sampled at (t0 x + t1 y + t2, t3 x + t4 y + t5) for each output pixel (x, y)."""
    h, w, c = img.shape
    out = np.zeros((h, w, c))
    for y in range(h):
        for x in range(w):
            xi, yi = t[0] * x + t[1] * y + t[2], t[3] * x + t[4] * y + t[5]
            if nearest:
                out[y, x] = ref_read(img, int(np.floor(yi + 0.5)), int(np.floor(xi + 0.5)), mode, fill)
                continue
            x0, y0 = int(np.floor(xi)), int(np.floor(yi))
            tx, ty = xi - x0, yi - y0
            out[y, x] = ((1 - ty) * (1 - tx) * ref_read(img, y0, x0, mode, fill)
                         + (1 - ty) * tx * ref_read(img, y0, x0 + 1, mode, fill)
                         + ty * (1 - tx) * ref_read(img, y0 + 1, x0, mode, fill)
                         + ty * tx * ref_read(img, y0 + 1, x0 + 1, mode, fill))
    return out


@pytest.fixture
def images():
    return np.random.default_rng(0).random((3, 7, 9, 2))


def f64(layer_cls, *args, **kwargs):
    return layer_cls(*args, dtype="float64", **kwargs)


# ---- deterministic image layers -----------------------------------------------------------------

@pytest.mark.parametrize("size", [(4, 5), (11, 13), (7, 9), (1, 1), (3, 17)])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_resizing_matches_the_reference(images, size, interpolation):
    out = f64(L.Resizing, *size, interpolation=interpolation)(images).numpy()
    np.testing.assert_allclose(out, ref_resize(images, *size, interpolation == "nearest"), rtol=1e-12, atol=1e-12)


def test_resizing_to_an_aspect_ratio(images):
    crop = f64(L.Resizing, 4, 4, crop_to_aspect_ratio=True)(images).numpy()
    np.testing.assert_allclose(crop, ref_resize(images[:, :, 1:8], 4, 4), atol=1e-12)  # the centred 7x7 window
    pad = f64(L.Resizing, 6, 6, pad_to_aspect_ratio=True, fill_value=0.5)(images).numpy()
    padded = np.full((3, 9, 9, 2), 0.5)
    padded[:, 1:8] = images  # 2 rows of padding: 1 above, 1 below
    np.testing.assert_allclose(pad, ref_resize(padded, 6, 6), atol=1e-12)
    single = f64(L.Resizing, 3, 3)(images[0]).numpy()
    assert single.shape == (3, 3, 2)


def test_center_crop(images):
    out = f64(L.CenterCrop, 3, 5)(images).numpy()
    np.testing.assert_array_equal(out, images[:, 2:5, 2:7])
    small = f64(L.CenterCrop, 10, 10)(images).numpy()  # larger than the input: the 7x7 window, resized
    np.testing.assert_allclose(small, ref_resize(images[:, :, 1:8], 10, 10), atol=1e-12)


def test_rescaling():
    out = L.Rescaling(1 / 255.0)(np.array([[0, 51, 255]], np.uint8)).numpy()
    np.testing.assert_allclose(out, [[0, 0.2, 1]], rtol=1e-6)
    per_channel = L.Rescaling([1.0, 2.0], offset=[0.0, -1.0])(np.ones((2, 2)))
    assert per_channel.numpy().tolist() == [[1, 1], [1, 1]]
    with pytest.raises(ValueError, match="3 per-channel values for inputs with 2 channels"):
        L.Rescaling([1.0, 2.0, 3.0])(np.ones((2, 2)))


# ---- random image layers --------------------------------------------------------------------------

def _draws(seed, fn):
    return fn(np.random.default_rng(seed))


@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "mirror", "nearest", "constant"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_random_rotation_matches_the_reference(images, fill_mode, interpolation):
    out = f64(L.RandomRotation, (-0.2, 0.3), fill_mode=fill_mode, interpolation=interpolation, seed=4,
              fill_value=0.25)(images, training=True).numpy()
    theta = _draws(4, lambda r: r.uniform(-0.2, 0.3, 3)) * 2 * np.pi
    h, w = images.shape[1:3]
    cx, cy = (w - 1) / 2, (h - 1) / 2
    for k in range(3):
        c, s = np.cos(theta[k]), np.sin(theta[k])
        t = [c, -s, cx - c * cx + s * cy, s, c, cy - s * cx - c * cy]
        np.testing.assert_allclose(out[k], ref_affine(images[k], t, fill_mode, 0.25, interpolation == "nearest"),
                                   atol=1e-12)


def test_a_quarter_turn_is_rot90():
    img = np.random.default_rng(1).random((1, 5, 5, 1))
    out = f64(L.RandomRotation, (0.25, 0.25), interpolation="nearest")(img, training=True).numpy()
    np.testing.assert_allclose(out[0, :, :, 0], np.rot90(img[0, :, :, 0], k=1), atol=1e-12)  # counter-clockwise


def test_random_zoom_and_translation_match_the_reference(images):
    out = f64(L.RandomZoom, (-0.3, 0.4), (0.1, 0.2), seed=2, fill_mode="constant")(images, training=True).numpy()
    zy, zx = _draws(2, lambda r: (1 + r.uniform(-0.3, 0.4, 3), 1 + r.uniform(0.1, 0.2, 3)))
    h, w = images.shape[1:3]
    for k in range(3):
        t = [zx[k], 0, (w - 1) / 2 * (1 - zx[k]), 0, zy[k], (h - 1) / 2 * (1 - zy[k])]
        np.testing.assert_allclose(out[k], ref_affine(images[k], t, "constant"), atol=1e-12)
    out = f64(L.RandomTranslation, 0.2, (0.0, 0.3), seed=3)(images, training=True).numpy()
    dy, dx = _draws(3, lambda r: (r.uniform(-0.2, 0.2, 3) * h, r.uniform(0.0, 0.3, 3) * w))
    for k in range(3):
        np.testing.assert_allclose(out[k], ref_affine(images[k], [1, 0, -dx[k], 0, 1, -dy[k]]), atol=1e-12)
    same = f64(L.RandomZoom, 0.5, seed=2)
    zoomed = same(images, training=True).numpy()
    assert not np.allclose(zoomed, images)


def test_random_flip_crop_and_contrast(images):
    out = f64(L.RandomFlip, seed=5)(images, training=True).numpy()
    fx, fy = _draws(5, lambda r: (r.random(3) < 0.5, r.random(3) < 0.5))
    for k in range(3):
        ref = images[k][:, ::-1] if fx[k] else images[k]
        np.testing.assert_array_equal(out[k], ref[::-1] if fy[k] else ref)
    out = f64(L.RandomCrop, 4, 6, seed=6)(images, training=True).numpy()
    top, left = _draws(6, lambda r: (r.integers(0, 4, 3), r.integers(0, 4, 3)))
    for k in range(3):
        np.testing.assert_array_equal(out[k], images[k, top[k]:top[k] + 4, left[k]:left[k] + 6])
    inference = f64(L.RandomCrop, 4, 6)(images, training=False).numpy()
    np.testing.assert_allclose(inference, ref_resize(images[:, 0:6], 4, 6), atol=1e-12)  # the 6x9 window, top (7-6)//2
    out = f64(L.RandomContrast, (0.2, 0.5), value_range=(0.1, 0.9), seed=7)(images, training=True).numpy()
    f = _draws(7, lambda r: r.uniform(0.8, 1.5, 3))
    mean = images.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(out, np.clip((images - mean) * f[:, None, None, None] + mean, 0.1, 0.9), atol=1e-12)


RANDOM = [lambda: L.RandomFlip(seed=0), lambda: L.RandomRotation(0.2, seed=0), lambda: L.RandomZoom(0.2, seed=0),
          lambda: L.RandomTranslation(0.2, 0.2, seed=0), lambda: L.RandomContrast(0.5, value_range=(0, 1), seed=0)]


@pytest.mark.parametrize("make", RANDOM)
def test_random_layers_act_only_while_training(images, make):
    layer = make()
    x = images.astype(np.float32)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    assert not np.array_equal(layer(x, training=True).numpy(), x)
    model = dl.Sequential([make(), L.Flatten()])
    model.compile(optimizer="sgd", loss="mse")
    np.testing.assert_array_equal(model.predict(x, batch_size=3), x.reshape(3, -1))  # predict: eval mode
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), x)


def test_seeded_layers_repeat_and_unseeded_follow_manual_seed(images):
    a = L.RandomRotation(0.3, seed=1)(images, training=True).numpy()
    b = L.RandomRotation(0.3, seed=1)(images, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    dl.manual_seed(9)
    c = L.RandomZoom(0.3)(images, training=True).numpy()
    dl.manual_seed(9)
    np.testing.assert_array_equal(L.RandomZoom(0.3)(images, training=True).numpy(), c)


GRADIENT_LAYERS = [
    lambda: f64(L.Resizing, 4, 5), lambda: f64(L.Resizing, 5, 5, pad_to_aspect_ratio=True, fill_value=1.0),
    lambda: f64(L.Resizing, 3, 3, crop_to_aspect_ratio=True, interpolation="nearest"), lambda: f64(L.CenterCrop, 3, 4),
    lambda: f64(L.CenterCrop, 9, 9), lambda: f64(L.Rescaling, 0.5, offset=2.0),
    lambda: f64(L.RandomFlip, seed=1), lambda: f64(L.RandomRotation, 0.3, seed=1),
    lambda: f64(L.RandomRotation, 0.3, fill_mode="constant", fill_value=2.0, seed=1),
    lambda: f64(L.RandomZoom, 0.4, seed=1, fill_mode="wrap"), lambda: f64(L.RandomTranslation, 0.3, 0.3, seed=1),
    lambda: f64(L.RandomCrop, 4, 4, seed=1), lambda: f64(L.RandomContrast, 0.5, value_range=(-5, 5), seed=1),
]


@pytest.mark.parametrize("make", GRADIENT_LAYERS)
def test_gradients(make):
    x = dl.tensor(np.random.default_rng(2).random((2, 6, 7, 2)), requires_grad=True)
    assert dl.testing.gradcheck(lambda t: make()(t, training=True), [x])  # a fresh layer: the same draws each call


def test_normalization_gradient_and_statistics():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((20, 4, 3)) * [1.0, 2.0, 3.0] + [5.0, -1.0, 0.0]
    norm = f64(L.Normalization)
    norm.adapt(x)
    np.testing.assert_allclose(norm.mean.numpy(), x.reshape(-1, 3).mean(0), rtol=1e-10)
    np.testing.assert_allclose(norm.variance.numpy(), x.reshape(-1, 3).var(0), rtol=1e-10)
    np.testing.assert_allclose(norm(x).numpy(), (x - x.reshape(-1, 3).mean(0)) / x.reshape(-1, 3).std(0), atol=1e-10)
    t = dl.tensor(x[:3], requires_grad=True)
    assert dl.testing.gradcheck(lambda a: norm(a), [t])
    whole = f64(L.Normalization, axis=None)
    whole.adapt(x)
    np.testing.assert_allclose(whole(x).numpy(), (x - x.mean()) / x.std(), atol=1e-10)
    per_row = f64(L.Normalization, axis=1)
    per_row.adapt(data.DataLoader((x,), batch_size=7))  # adapt from batches
    np.testing.assert_allclose(per_row.mean.numpy(), x.mean(axis=(0, 2)), rtol=1e-10)
    given = f64(L.Normalization, mean=[1.0, 2.0, 3.0], variance=[4.0, 4.0, 4.0], invert=True)
    np.testing.assert_allclose(given(np.zeros((1, 3))).numpy(), [[1, 2, 3]])
    with pytest.raises(ValueError, match="give both 'mean' and 'variance'"):
        L.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="expected size 3 on axis 2"):
        norm(np.zeros((2, 4, 5)))


# ---- lookups, text, categories --------------------------------------------------------------------

def test_string_lookup_adapt_and_modes():
    data_ = [["a", "b", "a"], ["c", "a", "b"], ["d", "d", "a"]]
    lk = L.StringLookup()
    lk.adapt(data_)
    # by count (a 4, b 2, d 2, c 1), ties by token descending (as Keras)
    assert lk.get_vocabulary() == ["[UNK]", "a", "d", "b", "c"]
    assert lk([["a", "zz"]]).numpy().tolist() == [[1, 0]]
    inv = L.StringLookup(vocabulary=lk.get_vocabulary(include_special_tokens=False), invert=True)
    assert inv([[1, 0, 4]]).numpy().tolist() == [["a", "[UNK]", "c"]]
    mh = L.StringLookup(vocabulary=["a", "b"], output_mode="multi_hot")
    assert mh([["a", "a", "x"], ["b", "b", "b"]]).numpy().tolist() == [[1, 1, 0], [0, 0, 1]]
    count = L.StringLookup(vocabulary=["a", "b"], output_mode="count", pad_to_max_tokens=True, max_tokens=5)
    assert count([["a", "a", "x"]]).numpy().tolist() == [[1, 2, 0, 0, 0]]
    oh = L.StringLookup(vocabulary=["a", "b"], output_mode="one_hot")
    assert oh(["b", "a"]).numpy().tolist() == [[0, 0, 1], [0, 1, 0]]
    masked = L.StringLookup(vocabulary=["a", "b"], mask_token="")
    assert masked([["", "b", "q"]]).numpy().tolist() == [[0, 3, 1]]  # mask 0, OOV 1, then a, b
    capped = L.StringLookup(max_tokens=3)
    capped.adapt(data_)
    assert capped.get_vocabulary() == ["[UNK]", "a", "d"]
    strict = L.StringLookup(vocabulary=["a"], num_oov_indices=0)
    with pytest.raises(ValueError, match="'q' is not in the vocabulary and num_oov_indices=0"):
        strict(["q"])
    buckets = L.StringLookup(vocabulary=["a"], num_oov_indices=3)
    idx = buckets(["x", "y", "z", "x", "a"]).numpy()
    assert idx[-1] == 3 and set(idx[:4]) <= {0, 1, 2} and idx[0] == idx[3]


def test_tf_idf_matches_the_formula():
    docs = [["a", "b"], ["a", "a", "c"], ["b"]]
    lk = L.StringLookup(output_mode="tf_idf")
    lk.adapt(docs)
    vocab = lk.get_vocabulary()
    assert vocab == ["[UNK]", "a", "b", "c"]  # by count: a 3, b 2, c 1
    df = {"a": 2, "b": 2, "c": 1}  # documents holding each token
    idf = {t: np.log(1 + 3 / (1 + df[t])) for t in df}
    out = lk([["a", "a", "c", "zz"]]).numpy()[0]
    oov = np.mean([idf["a"], idf["b"], idf["c"]])
    np.testing.assert_allclose(out, [1 * oov, 2 * idf["a"], 0, idf["c"]], rtol=1e-6)
    given = L.StringLookup(vocabulary=["a", "b", "c"], idf_weights=[idf["a"], idf["b"], idf["c"]], output_mode="tf_idf")
    np.testing.assert_allclose(given([["a", "a", "c"]]).numpy()[0][1:], out[1:], rtol=1e-6)


def test_integer_lookup():
    lk = L.IntegerLookup()
    lk.adapt(np.array([[12, 1138, 42], [42, 1000, 36], [42, 12, 12]]))
    assert lk.get_vocabulary() == [-1, 42, 12, 1138, 1000, 36]
    assert lk(np.array([[42, 7]])).numpy().tolist() == [[1, 0]]
    inv = L.IntegerLookup(vocabulary=[42, 12], invert=True)
    out = inv(np.array([[1, 2, 0]])).numpy()
    assert out.tolist() == [[42, 12, -1]] and out.dtype == np.int64
    floormod = L.IntegerLookup(vocabulary=[5], num_oov_indices=2)
    assert floormod([7, 8, 5]).numpy().tolist() == [1, 0, 2]
    with pytest.raises(TypeError, match="expected integer tokens"):
        lk(np.array(["x"]))


def test_text_vectorization_int_and_options(tmp_path):
    texts = ["The cat sat.", "The dog, the CAT!", "a dog"]
    tv = L.TextVectorization(output_sequence_length=5)
    tv.adapt(texts)
    assert tv.get_vocabulary() == ["", "[UNK]", "the", "dog", "cat", "sat", "a"]
    assert tv(["the cat and the dog", "sat"]).numpy().tolist() == [[2, 4, 1, 2, 3], [5, 0, 0, 0, 0]]
    ragged = L.TextVectorization(vocabulary=["x", "y"])
    assert ragged(np.array([["x y y"], ["y"]])).numpy().tolist() == [[2, 3, 3], [3, 0, 0]]  # to the longest
    chars = L.TextVectorization(split="character", standardize=None, vocabulary=["a", "B"])
    assert chars(["aBc"]).numpy().tolist() == [[2, 3, 1]]
    grams = L.TextVectorization(ngrams=2, vocabulary=["a", "b", "a b"])
    assert grams(["a b"]).numpy().tolist() == [[2, 3, 4]]
    (tmp_path / "vocab.txt").write_text("cat\ndog\n")
    from_file = L.TextVectorization(vocabulary=str(tmp_path / "vocab.txt"))
    assert from_file(["dog cat"]).numpy().tolist() == [[3, 2]]
    mh = L.TextVectorization(output_mode="multi_hot", vocabulary=["cat", "dog"])
    assert mh(["cat cat", "fish dog"]).numpy().tolist() == [[0, 1, 0], [1, 0, 1]]
    count = L.TextVectorization(output_mode="count", max_tokens=3)
    count.adapt(["b b a", "b c"])
    assert count.get_vocabulary() == ["[UNK]", "b", "c"] and count(["b b a"]).numpy().tolist() == [[1, 2, 0]]
    assert tv(np.array(["b"], dtype=object)).shape == (1, 5)


def test_category_encoding():
    ce = L.CategoryEncoding(num_tokens=4, output_mode="one_hot")
    assert ce([3, 0]).numpy().tolist() == [[0, 0, 0, 1], [1, 0, 0, 0]]
    assert ce(np.array([[1], [2]])).shape == (2, 4)
    count = L.CategoryEncoding(num_tokens=3, output_mode="count")
    assert count([[0, 0, 2], [1, 1, 1]]).numpy().tolist() == [[2, 0, 1], [0, 3, 0]]
    with pytest.raises(ValueError, match=r"indices must be in \[0, 3\)"):
        count([[3]])
    with pytest.raises(TypeError, match="integer categories"):
        count([[0.5]])


# ---- arguments, configs, model files --------------------------------------------------------------

@pytest.mark.parametrize("make, match", [
    (lambda: L.Resizing(0, 3), "Resizing 'resizing.*': 'height' must be a positive int, got 0"),
    (lambda: L.Resizing(3, 3, interpolation="bicubic"), "'interpolation' must be one of"),
    (lambda: L.Resizing(3, 3, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), "not both"),
    (lambda: L.Resizing(3, 3, antialias=True), "antialias=True is not supported"),
    (lambda: L.CenterCrop(3, 3, data_format="channels_first"), "'data_format' must be 'channels_last'"),
    (lambda: L.RandomFlip("diagonal"), "'mode' must be one of"),
    (lambda: L.RandomRotation((0.3, 0.1)), "'factor' must have lower <= upper"),
    (lambda: L.RandomZoom(-1.5), "'height_factor' must have lower <= upper"),
    (lambda: L.RandomTranslation(0.1, 2.0), "'width_factor' must have lower <= upper, both in"),
    (lambda: L.RandomRotation(0.1, fill_mode="smear"), "'fill_mode' must be one of"),
    (lambda: L.RandomContrast(1.5), "'factor' must be in \\[0, 1\\]"),
    (lambda: L.RandomContrast(0.5, value_range=(1, 0)), "'value_range' must be a \\(min, max\\) pair"),
    (lambda: L.Normalization(axis=0), "cannot include the batch axis"),
    (lambda: L.StringLookup(output_mode="bag"), "'output_mode' must be one of"),
    (lambda: L.StringLookup(sparse=True), "sparse=True is not supported"),
    (lambda: L.StringLookup(invert=True, output_mode="count"), "invert=True needs output_mode='int'"),
    (lambda: L.StringLookup(vocabulary=["a", "a"]), "repeats tokens"),
    (lambda: L.StringLookup(vocabulary=["a"], output_mode="tf_idf"), "needs 'idf_weights'"),
    (lambda: L.TextVectorization(split="semicolon"), "'split' must be one of"),
    (lambda: L.TextVectorization(output_mode="count", output_sequence_length=3), "only used with output_mode='int'"),
    (lambda: L.TextVectorization(ragged=True), "ragged=True is not supported"),
    (lambda: L.CategoryEncoding(), "'num_tokens' must be a positive int"),
    (lambda: L.CategoryEncoding(3, output_mode="int"), "'output_mode' must be 'one_hot'"),
])
def test_bad_arguments(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def _all_layers():
    tv = L.TextVectorization(max_tokens=10, output_sequence_length=4)
    tv.adapt(["one two three", "two three", "three"])
    lk = L.StringLookup(output_mode="tf_idf")
    lk.adapt([["x", "y"], ["y"]])
    return [L.Rescaling(0.5, offset=1.0), L.Resizing(4, 4, pad_to_aspect_ratio=True, fill_value=1.0), L.CenterCrop(3, 3),
            L.RandomFlip("vertical", seed=1), L.RandomRotation((-0.1, 0.2), fill_mode="wrap", seed=2),
            L.RandomZoom(0.2, (0.1, 0.3), seed=3), L.RandomTranslation(0.1, 0.2, interpolation="nearest", seed=4),
            L.RandomCrop(3, 3, seed=5), L.RandomContrast((0.1, 0.4), value_range=(0, 1), seed=6),
            L.Normalization(axis=-1, mean=[0.5, 0.5], variance=[0.25, 1.0]), tv, lk,
            L.IntegerLookup(vocabulary=[7, 90210], output_mode="multi_hot"),
            L.CategoryEncoding(num_tokens=5, output_mode="count")]


def _input_for(layer):
    if isinstance(layer, L.TextVectorization):
        return np.array(["one two four", "three"])
    if isinstance(layer, L.StringLookup):
        return np.array([["x", "z"], ["y", "y"]])
    if isinstance(layer, L.IntegerLookup):
        return np.array([[7, 1], [90210, 90210]])
    if isinstance(layer, L.CategoryEncoding):
        return np.array([[0, 4, 4], [1, 2, 3]])
    return np.random.default_rng(0).random((2, 5, 6, 2)).astype(np.float32)


@pytest.mark.parametrize("index", range(14))
def test_get_config_round_trip(index):
    layer = _all_layers()[index]
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    x = _input_for(layer)
    np.testing.assert_array_equal(np.asarray(clone(x, training=True).numpy()),
                                  np.asarray(layer(x, training=True).numpy()))


def test_save_and_load_an_image_model_with_its_preprocessing(tmp_path):
    x = np.random.default_rng(1).random((12, 10, 10, 1)).astype(np.float32) * 255
    norm = L.Normalization(axis=None)
    model = dl.Sequential([L.Rescaling(1 / 255.0, input_shape=(10, 10, 1)), L.RandomFlip("horizontal", seed=1),
                           L.RandomRotation(0.1, seed=2), L.RandomZoom(0.1, seed=3), L.RandomTranslation(0.1, 0.1, seed=4),
                           L.RandomContrast(0.2, value_range=(0, 1), seed=5), L.RandomCrop(8, 8, seed=6),
                           L.Resizing(6, 6), L.CenterCrop(5, 5), norm, L.Flatten(), L.Dense(3, activation="softmax")])
    norm.adapt(x / 255.0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, np.arange(12) % 3, epochs=2, batch_size=4, verbose=0)
    model.save(tmp_path / "m.dlc")
    loaded = dl.models.load_model(tmp_path / "m.dlc")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    np.testing.assert_array_equal(loaded.layers[9].mean.numpy(), norm.mean.numpy())


def test_save_and_load_a_text_model_with_its_vocabulary(tmp_path):
    texts = np.array(["good movie", "bad movie", "really good", "really bad film"])
    tv = L.TextVectorization(max_tokens=12, output_sequence_length=4)
    tv.adapt(texts)
    model = dl.Sequential([tv, L.Embedding(12, 4), L.Flatten(), L.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(texts, np.array([1.0, 0.0, 1.0, 0.0]), epochs=2, verbose=0)
    model.save(tmp_path / "t.dlc")
    loaded = dl.models.load_model(tmp_path / "t.dlc")
    assert loaded.layers[0].get_vocabulary() == tv.get_vocabulary()
    np.testing.assert_array_equal(loaded.predict(texts), model.predict(texts))
    ids = L.IntegerLookup(vocabulary=[90210, 10001, 60601], output_mode="one_hot")
    model = dl.Sequential([ids, L.Dense(1)])  # token ids far above the model's weight count
    model.compile(optimizer="sgd", loss="mse")
    z = np.array([[90210], [60601], [5]])
    model.fit(z, np.array([1.0, 2.0, 3.0]), epochs=1, verbose=0)
    model.save(tmp_path / "i.dlc")
    np.testing.assert_array_equal(dl.models.load_model(tmp_path / "i.dlc").predict(z), model.predict(z))


@pytest.mark.parametrize("make, x", [
    (lambda: L.StringLookup(vocabulary=["red", "green", "blue"], output_mode="multi_hot"),
     np.array([["red", "blue"], ["green", "pink"]])),
    (lambda: L.CategoryEncoding(num_tokens=5, output_mode="count"), np.array([[0, 4, 4], [1, 2, 3]])),
    (lambda: L.RandomCrop(3, 3, seed=0), np.random.default_rng(0).random((2, 5, 5, 1)).astype(np.float32)),
])
def test_save_and_load_lookup_and_encoding_models(tmp_path, make, x):
    model = dl.Sequential([make(), L.Flatten(), L.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.ones((2, 2), np.float32), epochs=1, verbose=0)
    model.save(tmp_path / "m.dlc")
    loaded = dl.models.load_model(tmp_path / "m.dlc")
    assert loaded.layers[0].get_config() == model.layers[0].get_config()
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
