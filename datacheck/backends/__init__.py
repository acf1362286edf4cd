"""Backends measure data (numpy for files and arrays, TF ops inside tf.data, keras.ops on devices).

They produce views and summaries; the judge in ``datacheck.rules`` decides.
"""
