"""Keras's `keras.preprocessing.image`: load_img, img_to_array, array_to_img, save_img, smart_resize
(the functions of the same names in `dlcore.utils`, looked up when used)."""
from ._forward import forwarder

FORWARDED = ("load_img", "img_to_array", "array_to_img", "save_img", "smart_resize")
__getattr__ = forwarder(__name__, FORWARDED)
