"""The tf.data input pipeline and its augmentation: what the network trains on, never what it saves."""

import numpy as np

from mnist_cnn.backend import keras, tf
from mnist_cnn.mnist import IMAGE_SHAPE


def random_affine(images: tf.Tensor) -> tf.Tensor:
    """Rotate (±10°), scale (0.9-1.1), shear (±0.15) and shift (±2 px) each image of a batch.

    One resampling per image, so strokes stay as sharp as MNIST's. It runs in the input
    pipeline, not in the network: the saved model and predict.py never see it.
    """
    n = tf.shape(images)[0]
    angle = tf.random.uniform([n], -10.0, 10.0) * (np.pi / 180)
    scale = tf.random.uniform([n], 0.9, 1.1)
    shear = tf.random.uniform([n], -0.15, 0.15)
    shift_x, shift_y = tf.unstack(tf.random.uniform([2, n], -2.0, 2.0))
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    # affine_transform maps each output pixel back to the input pixel it samples: this is the
    # inverse transform, built about the image centre so a digit turns in place.
    a0, a1, b0, b1 = cos, -sin + shear * cos, sin, cos + shear * sin
    centre = (IMAGE_SHAPE[0] - 1) / 2
    a2 = centre - a0 * centre - a1 * centre - shift_x
    b2 = centre - b0 * centre - b1 * centre - shift_y
    zeros = tf.zeros([n])
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    return keras.ops.image.affine_transform(images, transforms, interpolation="bilinear", fill_value=0)


def make_dataset(
    x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = False, augment: bool = False
) -> tf.data.Dataset:
    """Batches of (float32 images, labels): cached once, reshuffled each epoch, prefetched."""
    ds = tf.data.Dataset.from_tensor_slices((x, y.astype("int32"))).cache()
    if shuffle:
        ds = ds.shuffle(len(x), reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(lambda images, labels: (tf.cast(images, tf.float32), labels))
    if augment:  # per batch: one vectorized transform is far cheaper than one per image
        ds = ds.map(lambda images, labels: (random_affine(images), labels), num_parallel_calls=2)
    # No autotuning: its background thread can hold up the end of an epoch's iterator for as
    # long as its current sleep, which had grown to 6-8 s in 1 epoch in 4 (seen with py-spy).
    # Fixed settings do as well here: the pipeline needs 0.6 s of CPU per epoch.
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(2).with_options(options)
