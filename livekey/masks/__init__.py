"""The mask stack: the layers (colour key, shapes, images, difference key, segmentation) that
turn the colour key's matte into the final matte.

One module per layer type, each registering its :class:`~livekey.masks.layer.LayerType`; the
import lines below are the registry's list of built-in types, in the order the help and the
window list them (a new type: its module, and one line there). :mod:`~livekey.masks.stack` holds
the stack, :mod:`~livekey.masks.stage` runs it on frames, :mod:`~livekey.masks.spec` reads
``--mask``.
"""

# isort: off
from livekey.masks import key  # noqa: F401  (each import registers a type)
from livekey.masks import shape  # noqa: F401
from livekey.masks import image  # noqa: F401
from livekey.masks import diff  # noqa: F401
from livekey.masks import segment  # noqa: F401
from livekey.masks import person  # noqa: F401
# isort: on
from livekey.masks.fields import COMMON_FIELDS, MODES, SHAPES, Field
from livekey.masks.layer import LAYER_TYPES, LayerType, MaskLayer, register
from livekey.masks.merge import combine, feather_invert
from livekey.masks.person import check_turned_on, with_person
from livekey.masks.shape import hit_handle, move_handle, move_shape, polygon_from_clicks, shape_handles
from livekey.masks.spec import (
    SPEC_HELP,
    add_mask_arguments,
    load_stack_file,
    parse_mask_spec,
    stack_from_args,
    stack_summary,
)
from livekey.masks.stack import KEY_LAYER, MaskStack
from livekey.masks.stage import MaskStage, static_mask, warm_up

__all__ = ["COMMON_FIELDS", "KEY_LAYER", "LAYER_TYPES", "MODES", "SHAPES", "SPEC_HELP", "Field", "LayerType",
           "MaskLayer", "MaskStack", "MaskStage", "add_mask_arguments", "check_turned_on", "combine",
           "feather_invert", "hit_handle", "load_stack_file", "move_handle", "move_shape", "parse_mask_spec",
           "polygon_from_clicks", "register", "shape_handles", "stack_from_args", "stack_summary", "static_mask",
           "warm_up", "with_person"]
