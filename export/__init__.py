"""ONNX export and checks; TensorRT engine building."""
