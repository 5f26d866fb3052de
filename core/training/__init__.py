"""Training: tf.data inputs, the training loop, callbacks, feature cache, worker."""
