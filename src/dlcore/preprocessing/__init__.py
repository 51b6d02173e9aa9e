"""Keras's `keras.preprocessing` (the older spellings): `image_dataset_from_directory`,
`text_dataset_from_directory`, `timeseries_dataset_from_array`, and the submodules `image`
(load_img, img_to_array, array_to_img, save_img, smart_resize) and `sequence` (pad_sequences).

Every name here is the function of the same name in `dlcore.utils`, looked up when it is used:
a name `dlcore.utils` does not provide raises AttributeError saying so.
"""
from . import image, sequence
from ._forward import forwarder

__all__ = ["image", "sequence"]

FORWARDED = ("image_dataset_from_directory", "text_dataset_from_directory", "timeseries_dataset_from_array")
__getattr__ = forwarder(__name__, FORWARDED)
