"""One module per op; importing this package registers them all."""
from .activation import TableActivation, TableSoftmax
from .add import Add
from .base import REGISTRY, Op
from .concat import Concat
from .conv import Conv
from .dense import Dense
from .depth_to_space import DepthToSpace
from .pad import Pad
from .pool import Pool
from .relu import Relu
from .requant import Requant
from .scale import ScaleShift
from .shape import Identity, Reshape, Transpose
from .threshold import Threshold
from .upsample import Upsample

__all__ = ["REGISTRY", "Op", "Add", "Concat", "Conv", "Dense", "DepthToSpace", "Identity", "Pad",
           "Pool", "Relu", "Requant", "Reshape", "ScaleShift", "TableActivation", "TableSoftmax",
           "Threshold", "Transpose", "Upsample"]
