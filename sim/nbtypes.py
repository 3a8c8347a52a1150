"""Numba array types shared by the compiled passes' explicit signatures.

``_<kind><bytes>_<ndim>``: a C-contiguous array, e.g. ``_f8_2`` is a 2-D float64 array,
``_u4_1`` a 1-D uint32 array, ``_b1`` a 1-D boolean array.
"""

import numba as nb
from numba import types as nt

_A = nt.Array
_b1 = _A(nb.boolean, 1, "C")
_b2 = _A(nb.boolean, 2, "C")
_f4_1 = _A(nb.float32, 1, "C")
_f4_2 = _A(nb.float32, 2, "C")
_f8_1 = _A(nb.float64, 1, "C")
_f8_2 = _A(nb.float64, 2, "C")
_i1_1 = _A(nb.int8, 1, "C")
_i1_2 = _A(nb.int8, 2, "C")
_i2_2 = _A(nb.int16, 2, "C")
_i4_1 = _A(nb.int32, 1, "C")
_i4_2 = _A(nb.int32, 2, "C")
_i8_1 = _A(nb.int64, 1, "C")
_i8_2 = _A(nb.int64, 2, "C")
_i8_3 = _A(nb.int64, 3, "C")
_u4_1 = _A(nb.uint32, 1, "C")
_i2_1 = _A(nb.int16, 1, "C")
_u1_1 = _A(nb.uint8, 1, "C")
_u2_2 = _A(nb.uint16, 2, "C")
