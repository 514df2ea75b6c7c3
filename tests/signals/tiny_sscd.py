"""A tiny stand-in for the SSCD model, built with onnx.helper so no test needs the real one.

It reads what SSCD reads (uint8 pictures, (batch, height, width, 3)) and answers what it answers
(a (batch, 512) embedding): the picture averaged down to 16x16 (Resize), its mean taken away,
through a fixed random projection. Copies of a picture (re-encoded, rescaled, slightly cropped)
keep their coarse layout and so their direction; unrelated pictures point elsewhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SIDE = 16


def write_tiny_model(path: Path, seed: int = 7) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    projection = np.random.default_rng(seed).standard_normal((SIDE * SIDE * 3, 512)).astype(np.float32)
    nodes = [
        helper.make_node("Cast", ["image"], ["pixels"], to=TensorProto.FLOAT),
        helper.make_node("Resize", ["pixels", "", "", "sizes"], ["small"], mode="linear", axes=[1, 2]),
        helper.make_node("Reshape", ["small", "flat_shape"], ["flat"]),
        helper.make_node("ReduceMean", ["flat", "mean_axes"], ["mean"], keepdims=1),
        helper.make_node("Sub", ["flat", "mean"], ["centred"]),
        helper.make_node("MatMul", ["centred", "projection"], ["embedding"]),
    ]
    initializers = [
        numpy_helper.from_array(np.array([SIDE, SIDE], np.int64), "sizes"),
        numpy_helper.from_array(np.array([-1, SIDE * SIDE * 3], np.int64), "flat_shape"),
        numpy_helper.from_array(np.array([1], np.int64), "mean_axes"),
        numpy_helper.from_array(projection, "projection"),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_sscd",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, ["batch", "height", "width", 3])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", 512])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path
