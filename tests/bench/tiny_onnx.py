"""Write a tiny ONNX "segmentation" model: a 1x1 convolution of the RGB input plus a sigmoid,
1x3xHxW -> 1x1xHxW with any H, W. The mask tests run it through the segment layer; ``livekey bench
--masks --segment-model`` times the layer's own cost with it (blob, upscale, merge), not a real model's.

Run: ``python tests/bench/tiny_onnx.py OUT.onnx`` (needs the ``onnx`` package, a test dependency).
"""

import sys

import numpy as np

WEIGHTS = np.array([0.5, -1.0, 0.25], np.float32)  # over the R, G, B input planes
BIAS = 0.1


def build(path: str) -> str:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w", "b"], ["c"]), helper.make_node("Sigmoid", ["c"], ["y"])],
        "tiny_segmenter", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, "h", "w"])],
        [numpy_helper.from_array(WEIGHTS.reshape(1, 3, 1, 1), "w"),
         numpy_helper.from_array(np.array([BIAS], np.float32), "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def expected(frame_bgr: np.ndarray) -> np.ndarray:
    """What the model computes for a BGR uint8 frame fed as RGB scaled to 0..1 (0..1 float)."""
    rgb = frame_bgr[..., ::-1].astype(np.float32) / 255.0
    return 1.0 / (1.0 + np.exp(-(rgb @ WEIGHTS + BIAS)))


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else "tiny.onnx"))
