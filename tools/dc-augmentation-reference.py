#!/usr/bin/env python3
"""Reference values for Tests/DistillNetworksTests/DCAugmentationTests.swift.

DC's MNIST augmentation rotates with scipy.ndimage.rotate (reshape, cubic
B-spline, mode 'constant', cval = the batch's mean) and then crops the centre
back to the input size. This prints, for a fixed 5x5 image, that rotation by a
few integer angles, so that Distill's DCAugmentation.rotate is checked against
scipy itself. Run: python3 tools/dc-augmentation-reference.py (numpy, scipy).
"""
import numpy as np
from scipy import ndimage

image = (np.arange(25, dtype=np.float64).reshape(5, 5) * 0.37) % 2.0 - 0.8
fill = 0.25
for angle in (30, -17, 44):
    rotated = ndimage.rotate(image[None], angle, axes=(-2, -1), cval=fill)
    r = int((rotated.shape[-2] - 5) / 2)
    c = int((rotated.shape[-1] - 5) / 2)
    window = rotated[0, r:r + 5, c:c + 5]
    print(f"{angle}: [" + ", ".join(f"{v:.9f}" for v in window.ravel()) + "]")
