# Test fixtures shared by several test executables; included from tests/CMakeLists.txt.
#
# onnx-models: the ONNX models tests/unit/workload/OnnxTest.cpp imports, exported from
# PyTorch / torchvision by tests/python/export_models.py (fixed seeds, no downloads). The
# test exports them itself when they are missing or stale, so the fixture is optional; it
# makes the export run once, before the tests that need it, and shows its log on failure.
add_test(NAME fixture.export-onnx
  COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tests/python/export_models.py
          ${PROJECT_BINARY_DIR}/onnx-models)
set_tests_properties(fixture.export-onnx PROPERTIES FIXTURES_SETUP onnx-models LABELS unit)
