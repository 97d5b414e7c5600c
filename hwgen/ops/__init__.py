"""One module per op; importing this package registers them all."""
from .add import Add
from .base import REGISTRY, Op
from .dense import Dense
from .relu import Relu
from .requant import Requant
from .scale import ScaleShift
from .shape import Identity, Reshape, Transpose
from .threshold import Threshold

__all__ = ["REGISTRY", "Op", "Add", "Dense", "Identity", "Relu", "Requant", "Reshape",
           "ScaleShift", "Threshold", "Transpose"]
