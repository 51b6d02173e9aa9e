"""A GAN written PyTorch-style: two Module subclasses, Adam(params, lr, betas), zero_grad/backward/step.

The generator learns to turn 4-D Gaussian noise into samples of a 2-D target distribution (points
on a ring of radius 2 with a little noise); the discriminator learns to tell real from generated
points. Target: the generated points' mean radius within 0.25 of 2 and their angles spread around
the whole ring (every one of 8 sectors holds at least 4% of them).
"""
import sys

import numpy as np

import dlcore as dl

NOISE = 4


class Generator(dl.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = dl.layers.Dense(64, activation="relu")
        self.fc2 = dl.layers.Dense(64, activation="relu")
        self.out = dl.layers.Dense(2)

    def forward(self, z):
        return self.out(self.fc2(self.fc1(z)))


class Discriminator(dl.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = dl.layers.Dense(64, activation="leaky_relu")
        self.fc2 = dl.layers.Dense(64, activation="leaky_relu")
        self.out = dl.layers.Dense(1, activation="sigmoid")

    def forward(self, x):
        return self.out(self.fc2(self.fc1(x)))


def real_batch(rng, n):
    angle = rng.uniform(0, 2 * np.pi, size=n)
    r = 2.0 + 0.05 * rng.normal(size=n)
    return np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1).astype(np.float32)


def main(steps=1500, batch=64):
    dl.manual_seed(0)
    rng = np.random.default_rng(0)
    gen, disc = Generator(), Discriminator()
    # build the lazy layers once so that parameters() is complete before the optimizers see it
    gen(dl.zeros(1, NOISE))
    disc(dl.zeros(1, 2))
    opt_g = dl.optimizers.Adam(gen.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_d = dl.optimizers.Adam(disc.parameters(), lr=2e-3, betas=(0.5, 0.999))
    bce = dl.losses.BinaryCrossentropy()
    ones, zeros = dl.ones(batch, 1), dl.zeros(batch, 1)

    for step in range(steps):
        # discriminator: real -> 1, fake -> 0
        real = dl.tensor(real_batch(rng, batch))
        z = dl.randn(batch, NOISE)
        fake = gen(z).detach()
        loss_d = bce(ones, disc(real)) + bce(zeros, disc(fake))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        # generator: make the discriminator say 1 on fakes
        loss_g = bce(ones, disc(gen(dl.randn(batch, NOISE))))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        if step % 300 == 0 or step == steps - 1:
            print(f"step {step:4d}  loss_D {loss_d.item():.3f}  loss_G {loss_g.item():.3f}")

    with dl.no_grad():
        samples = gen(dl.randn(2000, NOISE)).numpy()
    radius = np.linalg.norm(samples, axis=1)
    sectors = np.bincount(((np.arctan2(samples[:, 1], samples[:, 0]) + np.pi) / (2 * np.pi) * 8).astype(int) % 8,
                          minlength=8) / len(samples)
    met = abs(radius.mean() - 2.0) <= 0.25 and sectors.min() >= 0.04
    print(f"generated: mean radius {radius.mean():.3f} (target 2.0), radius std {radius.std():.3f}, "
          f"sector shares {np.round(sectors, 3).tolist()}")
    print(f"RESULT gan: mean_radius={radius.mean():.4f} min_sector={sectors.min():.3f} "
          f"target |r-2|<=0.25 and min_sector>=0.04: {'met' if met else 'NOT met'}")
    return met


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
