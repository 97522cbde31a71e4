"""The models of `layerwise train`, built from a run's config: the MLP and the CNN.

Training, evaluating, predicting and resuming all build a run's model here, from the settings
in its config, so that the weights saved by one command fit the model the next one builds.
Each model starts with Standardize, which holds the training set's statistics: a saved model
takes raw inputs (pixel values in [0, 1]).
"""

from __future__ import annotations

import math

import numpy as np

from layerwise import nn
from layerwise.train.config import RunConfig

ACTIVATION_MODULES = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU,
                      "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
                      "softplus": nn.Softplus}
IMAGE_SHAPE = (1, 28, 28)  # one channel of 28 x 28 pixels: Fashion-MNIST


def input_shape(config: RunConfig, features: int) -> tuple[int, ...]:
    """The shape of one input: (1, 28, 28) images for the CNN, `features` values for the MLP."""
    return IMAGE_SHAPE if config.model == "cnn" else (features,)


def input_statistics(config: RunConfig, train_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean and std that Standardize subtracts and divides by.

    The MLP standardizes every input value on its own (a pixel that is black in every image has
    std 0: 1e-2 is added). The CNN standardizes each channel with one mean and std over all its
    pixels, so that a pattern means the same wherever a filter meets it (a std below 1e-2, a
    channel blank in every image, is taken as 1e-2).
    """
    if config.model == "cnn":
        shape = (train_x.shape[1],) + (1,) * (train_x.ndim - 2)
        axes = (0, *range(2, train_x.ndim))
        std = train_x.std(axis=axes, dtype=np.float64)
        return (train_x.mean(axis=axes, dtype=np.float64).reshape(shape),
                np.maximum(std, 1e-2).reshape(shape))
    return train_x.mean(axis=0), train_x.std(axis=0) + 1e-2


def build_model(config: RunConfig, shape: tuple[int, ...], num_classes: int,
                mean: np.ndarray, std: np.ndarray) -> tuple[nn.Sequential, np.random.Generator]:
    """The run's model for inputs of `shape` (one sample), and the generator its dropout layers
    draw from (saved with the run, so that resuming draws the same masks).

    MLP: Standardize, then Linear, activation and Dropout per hidden width, then the output
    Linear. CNN: Standardize, then per entry of `channels` a 3x3 Conv2d (padding 1, so the
    size stays), BatchNorm2d with `batch_norm`, the activation and 2x2 max pooling (halving the
    size), then Flatten and the MLP's layers on the feature maps.
    """
    init_rng = np.random.default_rng(config.seed)
    dropout_rng = np.random.default_rng([config.seed, 1])
    activation = ACTIVATION_MODULES[config.activation]
    layers: list[nn.Module] = [nn.Standardize(mean, std)]
    if config.model == "cnn":
        in_channels, size = shape[0], shape[1:]
        for channels in config.channels:
            layers.append(nn.Conv2d(in_channels, channels, 3, padding=1,
                                    bias=not config.batch_norm, rng=init_rng))
            if config.batch_norm:
                layers.append(nn.BatchNorm2d(channels))
            layers += [activation(), nn.MaxPool2d(2)]
            in_channels, size = channels, tuple(length // 2 for length in size)
        layers.append(nn.Flatten())
        width = in_channels * math.prod(size)
    else:
        width = math.prod(shape)
    for hidden in config.hidden:
        layers += [nn.Linear(width, hidden, rng=init_rng), activation()]
        if config.dropout:
            layers.append(nn.Dropout(config.dropout, rng=dropout_rng))
        width = hidden
    layers.append(nn.Linear(width, num_classes, rng=init_rng))
    return nn.Sequential(*layers), dropout_rng
