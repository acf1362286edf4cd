"""Rules that judge a Keras model against its data (the doctor's verdicts).

The doctor gathers facts about the model and the data; the verdicts on those
facts live here, with the other rules, so every code is decided in one place.
"""
