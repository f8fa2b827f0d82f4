"""Models and their runtime: configs, Keras builders, ONNX export and sessions, shipped and uploaded files."""
