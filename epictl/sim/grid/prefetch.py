"""A software prefetch hint for Numba kernels (LLVM's ``llvm.prefetch``), which Numba does not expose.

With a million people the occupancy index is ~200 MB and each move reads a random cell of it, so
the move kernel asks for the cells a few people ahead while it works on the current one; the
memory system then serves many misses at once instead of one at a time (spec §14 performance).
A prefetch is only a hint: it never faults and never changes results.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def prefetch(typingctx, array, index):
    """Hint that ``array[index]`` will be read and written soon (no bounds check, no effect on values)."""
    signature = types.void(array, index)

    def codegen(context, builder, sig, args):
        array_type = sig.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, array_type, view, [args[1]], wraparound=False)
        pointer = builder.bitcast(pointer, ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        hint = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [pointer.type, i32, i32, i32]), "llvm.prefetch.p0")
        # write intent, keep in all cache levels, data cache
        builder.call(hint, [pointer, ir.Constant(i32, 1), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return signature, codegen
