"""The mask stack: the layers (colour key, shapes, images, difference key, segmentation) that
turn the colour key's matte into the final matte."""
