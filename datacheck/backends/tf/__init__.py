"""TensorFlow backend: checks as graph ops inside tf.data (imports TensorFlow)."""
