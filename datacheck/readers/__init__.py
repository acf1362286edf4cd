"""Readers turn files into arrays, headers and rows. They never judge."""
