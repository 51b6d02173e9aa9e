"""pad_sequences, split_dataset, timeseries_dataset_from_array, image/text_dataset_from_directory."""

import numpy as np
import pytest

import dlcore as dl
from dlcore import data, utils

L = dl.layers


def test_utils_reexports_the_data_helpers():
    assert utils.to_categorical is data.to_categorical and utils.normalize is data.normalize
    assert utils.to_categorical([0, 2], 3).tolist() == [[1, 0, 0], [0, 0, 1]]


# ---- pad_sequences ---------------------------------------------------------------------------------

def test_pad_sequences():
    seqs = [[1, 2, 3, 4], [5, 6], [], [7]]
    assert utils.pad_sequences(seqs).tolist() == [[1, 2, 3, 4], [0, 0, 5, 6], [0, 0, 0, 0], [0, 0, 0, 7]]
    assert utils.pad_sequences(seqs, maxlen=3, padding="post", truncating="post").tolist() == [
        [1, 2, 3], [5, 6, 0], [0, 0, 0], [7, 0, 0]]
    assert utils.pad_sequences(seqs, maxlen=2, value=-1).tolist() == [[3, 4], [5, 6], [-1, -1], [-1, 7]]
    assert utils.pad_sequences(seqs).dtype == np.int32
    floats = utils.pad_sequences([[0.5], [1.5, 2.5]], dtype="float32")
    assert floats.dtype == np.float32 and floats.tolist() == [[0.0, 0.5], [1.5, 2.5]]
    words = utils.pad_sequences([["a"], ["b", "c"]], dtype=object, value="")
    assert words.tolist() == [["", "a"], ["b", "c"]]
    vectors = utils.pad_sequences([np.ones((2, 3)), np.ones((1, 3))], dtype="float32")
    assert vectors.shape == (2, 2, 3) and vectors[1, 0].tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="'padding' must be 'pre' or 'post'"):
        utils.pad_sequences(seqs, padding="middle")
    with pytest.raises(ValueError, match="sequence 1 is a int"):
        utils.pad_sequences([[1], 2])
    with pytest.raises(ValueError, match="a string 'value' needs dtype=object"):
        utils.pad_sequences([["a"]], value="x")
    with pytest.raises(ValueError, match=r"the items of sequence 1 have shape \(2,\)"):
        utils.pad_sequences([np.ones((1, 3)), np.ones((1, 2))])


# ---- split_dataset ---------------------------------------------------------------------------------

def test_split_dataset():
    x, y = np.arange(10), np.arange(10) * 10
    left, right = utils.split_dataset((x, y), left_size=0.7)
    assert isinstance(left, data.TensorDataset) and len(left) == 7 and len(right) == 3
    assert right[0] == (7, 70)
    left, right = utils.split_dataset(x, right_size=4, shuffle=True, seed=0)
    assert len(left) == 6 and sorted(np.concatenate([left.arrays[0], right.arrays[0]]).tolist()) == list(range(10))
    again = utils.split_dataset(x, right_size=4, shuffle=True, seed=0)
    assert np.array_equal(again[1].arrays[0], right.arrays[0])
    sub_l, sub_r = utils.split_dataset(data.Subset(data.TensorDataset(x), [9, 8, 7, 6]), left_size=1, right_size=2)
    assert isinstance(sub_l, data.Subset) and sub_l[0][0] == 9 and len(sub_r) == 2
    for kwargs, match in (({}, "give left_size or right_size"), ({"left_size": 1.5}, "'left_size' must be a fraction"),
                          ({"left_size": 6, "right_size": 6}, "make parts of 6 and 6 samples out of 10")):
        with pytest.raises(ValueError, match=match):
            utils.split_dataset(x, **kwargs)


# ---- time series -----------------------------------------------------------------------------------

@pytest.mark.parametrize("length, stride, rate, start, end", [(3, 1, 1, None, None), (4, 2, 3, 2, 29), (1, 5, 1, 0, 10),
                                                               (5, 1, 2, 7, None)])
def test_timeseries_windows_match_the_reference(length, stride, rate, start, end):
    series = np.arange(30) * 1.5
    targets = np.arange(30) * -1
    loader = utils.timeseries_dataset_from_array(series, targets, length, stride, rate, batch_size=4,
                                                 start_index=start, end_index=end)
    xs, ys = zip(*loader)
    x, y = np.concatenate(xs), np.concatenate(ys)
    s, e = start or 0, end or 30
    ref_x, ref_y = [], []
    p = s
    while p + (length - 1) * rate < e:
        ref_x.append([series[p + k * rate] for k in range(length)])
        ref_y.append(targets[p])
        p += stride
    assert x.tolist() == ref_x and y.tolist() == ref_y
    assert len(loader) == -(-len(ref_x) // 4)


def test_timeseries_shuffle_and_unbatched():
    a = utils.timeseries_dataset_from_array(np.arange(20), None, 3, batch_size=5, shuffle=True, seed=1)
    b = utils.timeseries_dataset_from_array(np.arange(20), None, 3, batch_size=5, shuffle=True, seed=1)
    first = np.concatenate(list(a))
    assert np.array_equal(first, np.concatenate(list(b)))
    assert sorted(first[:, 0].tolist()) == list(range(18))
    ds = utils.timeseries_dataset_from_array(np.arange(6), np.arange(6), 2, batch_size=None)
    assert len(ds) == 5 and ds[4][0].tolist() == [4, 5] and ds[4][1] == 4
    with pytest.raises(ValueError, match="no window of 9 steps"):
        utils.timeseries_dataset_from_array(np.arange(5), None, 9)
    with pytest.raises(ValueError, match="'end_index' must be in"):
        utils.timeseries_dataset_from_array(np.arange(5), None, 2, start_index=3, end_index=2)
    with pytest.raises(ValueError, match="data has 5 steps but targets has 4"):
        utils.timeseries_dataset_from_array(np.arange(5), np.arange(4), 2)


# ---- folders ---------------------------------------------------------------------------------------

@pytest.fixture
def image_folder(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    pixels = {}
    for c, cls in enumerate(["cat", "dog", "eel"]):
        (tmp_path / cls / "more").mkdir(parents=True)
        for i in range(4):
            arr = rng.integers(0, 256, (6 + c, 9, 3), dtype=np.uint8)
            name = tmp_path / cls / ("more" if i == 3 else "") / f"img{i}.png"
            Image.fromarray(arr).save(name)
            pixels[str(name)] = arr
        (tmp_path / cls / "notes.txt").write_text("not an image")
    return tmp_path, pixels


def test_image_dataset_from_directory(image_folder, capsys):
    root, pixels = image_folder
    loader = utils.image_dataset_from_directory(root, image_size=(5, 4), batch_size=5, shuffle=False)
    assert "Found 12 files belonging to 3 classes." in capsys.readouterr().out
    assert loader.class_names == ["cat", "dog", "eel"] and len(loader.file_paths) == 12
    x, y = (np.concatenate(p) for p in zip(*loader))
    assert x.shape == (12, 5, 4, 3) and x.dtype == np.float32 and y.dtype == np.int32
    assert y.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    for k, path in enumerate(loader.file_paths):  # resized as the Resizing layer resizes
        ref = L.Resizing(5, 4)(pixels[path][None].astype(np.float32)).numpy()[0]
        np.testing.assert_allclose(x[k], ref, rtol=1e-5, atol=1e-4)
    cat = utils.image_dataset_from_directory(root, label_mode="categorical", color_mode="grayscale", image_size=(3, 3),
                                             batch_size=None, shuffle=False, verbose=False)
    img, label = cat[5]
    assert img.shape == (3, 3, 1) and label.tolist() == [0, 1, 0]
    none = utils.image_dataset_from_directory(root, labels=None, image_size=(2, 2), batch_size=12, verbose=False)
    assert next(iter(none)).shape == (12, 2, 2, 3)
    crop = utils.image_dataset_from_directory(root, image_size=(4, 4), crop_to_aspect_ratio=True, batch_size=None,
                                              shuffle=False, verbose=False)
    path = crop.paths[0]
    ref = L.Resizing(4, 4, crop_to_aspect_ratio=True)(pixels[path][None].astype(np.float32)).numpy()[0]
    np.testing.assert_allclose(crop[0][0], ref, rtol=1e-5, atol=1e-4)


def test_image_validation_split_and_explicit_labels(image_folder):
    root, _ = image_folder
    train, val = utils.image_dataset_from_directory(root, image_size=(4, 4), validation_split=0.25, subset="both",
                                                    seed=3, batch_size=4, verbose=False)
    assert len(train.file_paths) == 9 and len(val.file_paths) == 3
    assert not set(train.file_paths) & set(val.file_paths)
    only_val = utils.image_dataset_from_directory(root, image_size=(4, 4), validation_split=0.25, subset="validation",
                                                  seed=3, verbose=False)
    assert only_val.file_paths == val.file_paths
    model = dl.Sequential([L.Rescaling(1 / 255, input_shape=(4, 4, 3)), L.Flatten(), L.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train, validation_data=val, epochs=2, verbose=0)
    assert len(history.history["val_loss"]) == 2
    binary = utils.image_dataset_from_directory(root, labels=[0, 1] * 6, label_mode="binary", image_size=(2, 2),
                                                batch_size=None, shuffle=False, verbose=False)
    assert binary[1][1].tolist() == [1.0]
    with pytest.raises(ValueError, match="give a seed"):
        utils.image_dataset_from_directory(root, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="'subset' must be"):
        utils.image_dataset_from_directory(root, validation_split=0.2, seed=1)
    with pytest.raises(ValueError, match="label_mode='binary' needs exactly 2 classes, found 3"):
        utils.image_dataset_from_directory(root, label_mode="binary")
    with pytest.raises(ValueError, match="5 labels for 12 files"):
        utils.image_dataset_from_directory(root, labels=[0] * 5)
    with pytest.raises(ValueError, match="must name distinct sub-folders"):
        utils.image_dataset_from_directory(root, class_names=["cat", "cow"])
    with pytest.raises(ValueError, match="is not a folder"):
        utils.image_dataset_from_directory(root / "nowhere")
    with pytest.raises(ValueError, match="'interpolation' must be one of"):
        utils.image_dataset_from_directory(root, interpolation="lanczos5")


def test_text_dataset_from_directory(tmp_path):
    for cls, texts in (("neg", ["bad film", "awful"]), ("pos", ["great film", "loved it", "superb"])):
        (tmp_path / cls).mkdir()
        for i, t in enumerate(texts):
            (tmp_path / cls / f"{i}.txt").write_text(t, encoding="utf-8")
    (tmp_path / "pos" / "skip.md").write_text("no")
    loader = utils.text_dataset_from_directory(tmp_path, batch_size=2, shuffle=False, max_length=5, verbose=False)
    texts, labels = (np.concatenate(p) for p in zip(*loader))
    assert texts.tolist() == ["bad f", "awful", "great", "loved", "super"] and labels.tolist() == [0, 0, 1, 1, 1]
    shuffled = utils.text_dataset_from_directory(tmp_path, seed=2, verbose=False)
    assert sorted(np.concatenate([t for t, _ in shuffled]).tolist()) == sorted(
        ["bad film", "awful", "great film", "loved it", "superb"])
    vectorize = L.TextVectorization(output_sequence_length=3)
    vectorize.adapt(utils.text_dataset_from_directory(tmp_path, verbose=False))  # adapt takes the batches
    assert "film" in vectorize.get_vocabulary()
