"""Digits in: MNIST and the shipped sample, noise, checks, photos and drawings made into MNIST digits."""
