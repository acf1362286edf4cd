"""The run engine: judges batches with the rules and accumulates findings and summaries.

Backend-neutral: the numpy views answer the rules here; the TF backend, the
file scans, the doctor and the Keras callback all feed it.
"""
