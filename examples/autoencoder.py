"""An autoencoder built as a Sequential of two Sequentials: an encoder and a decoder.

The encoder squeezes the 64 pixels of a digit into 8 numbers, the decoder rebuilds the image;
trained on reconstruction MSE. The encoder alone is then a model of its own (encoder.predict).
Target: test reconstruction MSE <= 40% of the MSE of always predicting the mean image.
"""
import sys

import numpy as np

import dlcore as dl

TARGET_RATIO = 0.40


def main():
    dl.manual_seed(0)
    (x_train, _), (x_test, _) = dl.datasets.load_digits(size=8)
    x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)

    encoder = dl.Sequential([dl.layers.Dense(32, activation="relu", input_shape=(64,)),
                             dl.layers.Dense(8, activation="relu")], name="encoder")
    decoder = dl.Sequential([dl.layers.Dense(32, activation="relu", input_shape=(8,)),
                             dl.layers.Dense(64, activation="sigmoid")], name="decoder")
    autoencoder = dl.Sequential([encoder, decoder], name="autoencoder")
    autoencoder.compile(optimizer="adam", loss="mse")
    autoencoder.summary()
    autoencoder.fit(x_train, x_train, epochs=60, batch_size=32, validation_data=(x_test, x_test), verbose=2)

    mse = autoencoder.evaluate(x_test, x_test)
    baseline = float(np.mean((x_test - x_train.mean(axis=0)) ** 2))
    codes = encoder.predict(x_test)
    ratio = mse / baseline
    met = ratio <= TARGET_RATIO
    print(f"codes: {codes.shape}; test reconstruction MSE {mse:.4f} vs mean-image baseline {baseline:.4f} "
          f"(ratio {ratio:.3f})")
    print(f"RESULT autoencoder: mse_ratio={ratio:.4f} target<={TARGET_RATIO}: {'met' if met else 'NOT met'}")
    return met


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
