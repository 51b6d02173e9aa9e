"""Datasets, DataLoader, EpochIterator, splits, one-hot, scaling and NHWC augmentation."""
import numpy as np
import pytest

from dlcore import data


def _xy(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n)
    return x, y


def test_tensor_dataset_and_errors():
    x, y = _xy()
    ds = data.TensorDataset(x, y)
    assert len(ds) == 10
    xi, yi = ds[3]
    assert np.array_equal(xi, x[3]) and yi == 3
    with pytest.raises(ValueError, match="first dimension"):
        data.TensorDataset(x, y[:5])
    with pytest.raises(ValueError):
        data.TensorDataset()


@pytest.mark.parametrize("n,bs,drop_last,expect", [(10, 3, False, [3, 3, 3, 1]), (10, 3, True, [3, 3, 3]),
                                                   (10, 5, False, [5, 5]), (0, 4, False, []),
                                                   (1, 7, False, [1]), (1, 7, True, [])])
def test_dataloader_batches(n, bs, drop_last, expect):
    x, y = _xy(n)
    loader = data.DataLoader((x, y), batch_size=bs, drop_last=drop_last)
    sizes = [len(xb) for xb, yb in loader]
    assert sizes == expect and len(loader) == len(expect)
    if not drop_last and n:
        ys = np.concatenate([yb for _, yb in loader])
        assert np.array_equal(ys, y)


def test_dataloader_seeded_shuffle_reproducible_and_complete():
    x, y = _xy(33)
    a = [yb for _, yb in data.DataLoader((x, y), batch_size=4, shuffle=True, seed=5)]
    b = [yb for _, yb in data.DataLoader((x, y), batch_size=4, shuffle=True, seed=5)]
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    order = np.concatenate(a)
    assert sorted(order.tolist()) == list(range(33)) and not np.array_equal(order, np.arange(33))
    loader = data.DataLoader((x, y), batch_size=4, shuffle=True, seed=5)
    e1 = np.concatenate([yb for _, yb in loader])
    e2 = np.concatenate([yb for _, yb in loader])
    assert not np.array_equal(e1, e2)  # a new order each pass


def test_dataloader_global_seed():
    import dlcore as dl
    x, y = _xy(20)
    if not hasattr(dl, "manual_seed"):
        pytest.skip("dl.manual_seed not available")
    dl.manual_seed(3)
    a = np.concatenate([yb for _, yb in data.DataLoader((x, y), batch_size=5, shuffle=True)])
    dl.manual_seed(3)
    b = np.concatenate([yb for _, yb in data.DataLoader((x, y), batch_size=5, shuffle=True)])
    assert np.array_equal(a, b)


def test_dataloader_custom_dataset_and_transform():
    class Squares(data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([i, i * i], np.float32), i

    batches = list(data.DataLoader(Squares(), batch_size=2))
    assert [len(b[0]) for b in batches] == [2, 2, 1]
    assert batches[1][0].tolist() == [[2, 4], [3, 9]]
    loader = data.DataLoader(Squares(), batch_size=5, transform=lambda x, rng: x * 0 - 1, seed=0)
    xb, yb = next(iter(loader))
    assert np.all(xb == -1) and yb.tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("bad", [0, -1, 2.5, None, True])
def test_dataloader_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size"):
        data.DataLoader(np.zeros((4, 2)), batch_size=bad)


# ---- EpochIterator: what fit / evaluate / predict iterate ----------------------------------------

def test_epoch_iterator_arrays_in_order_with_steps_and_sample_weight():
    x, y = _xy(10)
    it = data.EpochIterator(x, y, sample_weight=np.arange(10), batch_size=4)
    assert it.num_batches == 3
    batches = list(it)
    assert [len(xb) for xb, _, _ in batches] == [4, 4, 2]
    assert np.array_equal(np.concatenate([yb for _, yb, _ in batches]), y)
    assert np.array_equal(np.concatenate([sw for _, _, sw in batches]), np.arange(10, dtype=np.float32))
    assert list(it)[0][0].tolist() == x[:4].tolist()  # every pass is a whole epoch again
    two = data.EpochIterator([x, x * 2], y, batch_size=4, steps_per_epoch=2)  # several inputs, capped steps
    assert two.num_batches == 2 and [len(xb[1]) for xb, _, _ in two] == [4, 4]
    xb, yb, sw = next(iter(data.EpochIterator(x, batch_size=3)))
    assert xb.shape == (3, 3) and yb is None and sw is None


def test_epoch_iterator_shuffles_each_epoch_from_the_global_seed():
    import dlcore as dl
    x, y = _xy(20)
    it = data.EpochIterator(x, y, batch_size=6, shuffle=True)
    dl.manual_seed(1)
    e1 = np.concatenate([yb for _, yb, _ in it])
    e2 = np.concatenate([yb for _, yb, _ in it])
    assert sorted(e1.tolist()) == list(range(20)) and not np.array_equal(e1, e2)
    dl.manual_seed(1)
    assert np.array_equal(np.concatenate([yb for _, yb, _ in it]), e1)


def test_epoch_iterator_class_weight_for_arrays_and_loaders():
    x, y = _xy(6)
    y = y % 3
    cw = {0: 2.0, 1: 0.5}
    expect = np.array([2.0, 0.5, 1.0, 2.0, 0.5, 1.0], np.float32)
    got = np.concatenate([sw for _, _, sw in data.EpochIterator(x, y, batch_size=4, class_weight=cw)])
    assert np.array_equal(got, expect)
    loader = data.DataLoader((x, y, np.full(6, 3.0, np.float32)), batch_size=4)
    got = np.concatenate([sw for _, _, sw in data.EpochIterator(loader, class_weight=cw)])
    assert np.array_equal(got, expect * 3)
    one_hot = np.eye(3, dtype=np.float32)[y]
    assert np.array_equal(data.class_weights_to_sample_weights(one_hot, cw), expect)


def test_epoch_iterator_loaders_datasets_and_generators():
    x, y = _xy(10)
    it = data.EpochIterator(data.TensorDataset(x, y), batch_size=4)
    assert it.num_batches == 3 and np.array_equal(np.concatenate([yb for _, yb, _ in it]), y)

    def batches():
        for i in range(0, 10, 5):
            yield x[i:i + 5], y[i:i + 5]
    once = data.EpochIterator(batches())
    assert once.num_batches is None and len(list(once)) == 2
    with pytest.raises(ValueError, match="one epoch"):
        list(once)
    endless = data.EpochIterator(iter(lambda: (x[:2], y[:2]), None), steps_per_epoch=3)
    assert len(list(endless)) == 3 and len(list(endless)) == 3


def test_epoch_iterator_errors_name_the_caller():
    x, y = _xy(10)
    with pytest.raises(ValueError, match="evaluate: x has 10 samples but y has 4"):
        data.EpochIterator(x, y[:4], what="evaluate")
    with pytest.raises(ValueError, match="fit: sample_weight has 3 entries for 10 samples"):
        data.EpochIterator(x, y, sample_weight=np.ones(3))


def test_train_validation_split_takes_the_last_samples():
    x, y = _xy(10)
    (xt, yt, swt), (xv, yv, swv) = data.train_validation_split(x, y, np.arange(10.0), 0.3)
    assert np.array_equal(yt, y[:7]) and np.array_equal(yv, y[7:]) and np.array_equal(xv, x[7:])
    assert np.array_equal(swt, np.arange(7.0)) and np.array_equal(swv, np.arange(7.0, 10.0))
    (_, _, sw), val = data.train_validation_split(x, y, None, 0.5)
    assert sw is None and len(val) == 2
    with pytest.raises(ValueError, match="empty part"):
        data.train_validation_split(x, y, None, 0.05)
    with pytest.raises(ValueError, match="array inputs"):
        data.train_validation_split(data.DataLoader((x, y)), None, None, 0.5)


def test_train_test_split():
    x, y = _xy(100)
    xtr, xte, ytr, yte = data.train_test_split(x, y, test_size=0.25, seed=0)
    assert len(xte) == 25 and len(xtr) == 75
    assert sorted(np.concatenate([ytr, yte]).tolist()) == list(range(100))
    assert np.array_equal(xtr[:, 0] / 3, ytr)  # rows stay aligned
    again = data.train_test_split(x, y, test_size=0.25, seed=0)
    assert np.array_equal(again[3], yte)
    _, _, _, yte2 = data.train_test_split(x, y, test_size=10, shuffle=False)
    assert yte2.tolist() == list(range(10))
    labels = np.repeat([0, 1], [80, 20])
    _, _, _, lte = data.train_test_split(x, labels, test_size=0.2, stratify=labels, seed=1)
    assert np.bincount(lte).tolist() == [16, 4]
    for bad in (0.0, 1.0, 0, 100, "x"):
        with pytest.raises(ValueError, match="test_size"):
            data.train_test_split(x, y, test_size=bad)
    with pytest.raises(ValueError, match="lengths"):
        data.train_test_split(x, y[:3])


def test_to_categorical():
    out = data.to_categorical([0, 2, 1, 2])
    assert out.dtype == np.float32
    assert out.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 1]]
    assert data.to_categorical(np.array([[1], [0]]), num_classes=4).shape == (2, 4)
    assert data.to_categorical(np.zeros((2, 3), int), 5).shape == (2, 3, 5)
    with pytest.raises(ValueError, match="labels"):
        data.to_categorical([0, 5], num_classes=3)
    with pytest.raises(ValueError, match="labels"):
        data.to_categorical([-1, 0])
    with pytest.raises(ValueError, match="integers"):
        data.to_categorical([0.5, 1.0])


def test_scalers_and_normalize():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(200, 4)).astype(np.float32)
    x[:, 3] = 7.0  # constant feature
    s = data.StandardScaler().fit(x)
    z = s.transform(x)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z[:, :3].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z[:, :3].std(0), 1, atol=1e-4)
    assert np.all(z[:, 3] == 0)
    np.testing.assert_allclose(s.inverse_transform(z), x, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="fit"):
        data.StandardScaler().transform(x)
    m = data.MinMaxScaler().fit_transform(x)
    assert m[:, :3].min() == 0 and m[:, :3].max() == pytest.approx(1, abs=1e-6)
    n = data.normalize(np.array([[3.0, 4.0], [0.0, 0.0]], np.float32))
    np.testing.assert_allclose(n, [[0.6, 0.8], [0, 0]])


def test_augmentation_seeded_and_shape_preserving():
    rng = np.random.default_rng(0)
    imgs = rng.random((16, 6, 5, 2)).astype(np.float32)
    f1 = data.random_flip(imgs, seed=1)
    f2 = data.random_flip(imgs, seed=1)
    assert np.array_equal(f1, f2) and f1.shape == imgs.shape
    for a, b in zip(f1, imgs):
        assert np.array_equal(a, b) or np.array_equal(a, b[:, ::-1])
    assert any(not np.array_equal(a, b) for a, b in zip(f1, imgs))
    v = data.random_flip(imgs, mode="vertical", seed=2)
    for a, b in zip(v, imgs):
        assert np.array_equal(a, b) or np.array_equal(a, b[::-1])

    s = data.random_shift(imgs, max_shift=2, seed=3)
    assert s.shape == imgs.shape and np.array_equal(s, data.random_shift(imgs, max_shift=2, seed=3))
    # each output is the input moved by some (dy, dx) in [-2, 2]^2 with zero fill
    for a, b in zip(s, imgs):
        found = False
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                ref = np.zeros_like(b)
                ys, yd = (slice(0, 6 - dy), slice(dy, 6)) if dy >= 0 else (slice(-dy, 6), slice(0, 6 + dy))
                xs, xd = (slice(0, 5 - dx), slice(dx, 5)) if dx >= 0 else (slice(-dx, 5), slice(0, 5 + dx))
                ref[yd, xd] = b[ys, xs]
                found |= np.array_equal(a, ref)
        assert found

    c = data.random_crop(imgs, (4, 3), seed=4)
    assert c.shape == (16, 4, 3, 2)
    assert data.random_crop(imgs, 6, padding=2, seed=0).shape == (16, 6, 6, 2)
    with pytest.raises(ValueError, match="crop"):
        data.random_crop(imgs, 9)

    g = data.gaussian_noise(imgs, 0.1, seed=5)
    assert g.dtype == np.float32 and 0.08 < np.std(g - imgs) < 0.12
    assert np.array_equal(data.gaussian_noise(imgs, 0.0, seed=1), imgs)
    gc = data.gaussian_noise(imgs, 1.0, seed=5, clip=(0, 1))
    assert gc.min() >= 0 and gc.max() <= 1

    with pytest.raises(ValueError, match="NHWC"):
        data.random_flip(imgs[0])
    with pytest.raises(ValueError, match="mode"):
        data.random_flip(imgs, mode="diagonal")

    aug = data.Compose([data.RandomFlip(), data.RandomShift(1), data.GaussianNoise(0.01)])
    loader = data.DataLoader((imgs, np.arange(16)), batch_size=8, transform=aug, seed=0)
    xb, yb = next(iter(loader))
    assert xb.shape == (8, 6, 5, 2)
