//===- Module.cpp - tessera._tessera: the native half of `import tessera` -------===//
//
// pybind11 bindings over the ONNX import with initializer values (workload/Onnx.h), the
// compiler (compiler/Compiler.h, Program.h) and the runtime (runtime/Runtime.h). The
// user-facing API (tessera.compile, Model.run / train_step / report) is the pure-Python
// package python/tessera/; this layer is deliberately thin: handles, numpy arrays in and
// out, and every C++ diagnostic raised as tessera.Error carrying the full rendered text
// (`file:line:col: error[id]: message` plus notes) and its parts as attributes. Long
// calls (import, compile, run) release the GIL.
//
//===----------------------------------------------------------------------===//
#include "arch/ArchSpec.h"
#include "compiler/Compiler.h"
#include "runtime/Report.h"
#include "runtime/Runtime.h"
#include "workload/Onnx.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <mutex>
#include <optional>

namespace py = pybind11;

namespace tessera::python {
namespace {

/// A C++ diagnostic on its way to Python (translated into tessera.Error).
struct DiagnosticError {
  Diagnostic diag;
};

PyObject *gErrorType = nullptr;

template <typename T> T unwrap(Expected<T> e) {
  if (!e.ok())
    throw DiagnosticError{std::move(e).takeError()};
  return std::move(*e);
}

void check(Status st) {
  if (!st.ok())
    throw DiagnosticError{std::move(st).takeError()};
}

std::string stripNewline(std::string s) {
  while (!s.empty() && s.back() == '\n')
    s.pop_back();
  return s;
}

/// An imported ONNX model: the forward graph and its initializer values.
struct PyOnnxModel {
  workload::OnnxModel model;
  std::string name; ///< the file (or stand-in name) diagnostics use
};

/// A compiled program.
struct PyProgram {
  compiler::Program program;
};

/// A runtime with the result of its last run. `run` releases the GIL; the mutex keeps
/// another Python thread's read / write / run of the same runtime out meanwhile (it is
/// taken after the GIL is released and given back before it is retaken: no deadlock).
struct PyRuntime {
  std::optional<runtime::Runtime> rt;
  std::optional<runtime::RunResult> last;
  std::unique_ptr<std::mutex> mu = std::make_unique<std::mutex>();
  runtime::Runtime &get() { return *rt; }
};

py::dict tensorInfo(const compiler::DramTensor &t) {
  py::dict d;
  d["name"] = t.name;
  d["shape"] = py::tuple(py::cast(t.shape));
  d["role"] = std::string(compiler::dramRoleName(t.role));
  d["param"] = t.param;
  d["alias_of"] = t.aliasOf;
  d["address"] = t.address;
  d["bytes"] = t.bytes;
  return d;
}

py::list graphTensors(const workload::Graph &g, bool inputs) {
  py::list out;
  for (workload::TensorId id : inputs ? g.inputs() : g.outputs()) {
    const workload::Tensor &t = g.tensor(id);
    py::dict d;
    d["name"] = t.name;
    d["shape"] = py::tuple(py::cast(t.shape));
    out.append(d);
  }
  return out;
}

py::dict resultDict(const compiler::Program &p, const runtime::RunResult &r) {
  py::dict d;
  d["model"] = p.model;
  d["policy"] = std::string(compiler::policyName(p.policy));
  d["train"] = p.train;
  d["backend"] = std::string(runtime::backendName(r.backend));
  d["step"] = r.step;
  d["cycles"] = r.cycles;
  d["instructions"] = r.instructions;
  py::list ops;
  for (const runtime::OpTime &t : r.ops) {
    py::dict o;
    o["op"] = t.op;
    o["name"] = t.name;
    o["kind"] = t.kind;
    o["phase"] = p.ops[t.op].phase;
    o["cycles"] = t.cycles;
    o["instructions"] = t.instructions;
    ops.append(o);
  }
  d["ops"] = ops;
  return d;
}

py::array_t<float> toArray(const std::vector<float> &v, const std::vector<int64_t> &shape) {
  std::vector<py::ssize_t> dims(shape.begin(), shape.end());
  py::array_t<float> a(dims);
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

const compiler::DramTensor &tensorOf(const compiler::Program &p, const std::string &name) {
  const compiler::DramTensor *t = p.find(name);
  if (!t)
    throw DiagnosticError{Diagnostic::error(
        "unknown-tensor", "program '" + p.model + "' has no tensor '" + name + "'")};
  return *t;
}

PyOnnxModel importModel(const std::string &source, bool isBytes, const std::string &name,
                        std::optional<int64_t> batch) {
  workload::OnnxOptions opts;
  opts.batch = batch;
  py::gil_scoped_release release;
  PyOnnxModel m;
  m.name = name;
  m.model = unwrap(isBytes ? workload::importOnnxModelBytes(source, name, opts)
                           : workload::importOnnxModel(source, opts));
  return m;
}

PyProgram compileModel(const PyOnnxModel &m, const std::string &archPath, const std::string &policy,
                       bool train, double lr, double beta1, double beta2, double eps,
                       double weightDecay, uint32_t maxTileK) {
  compiler::CompileOptions opts;
  if (!compiler::policyFromName(policy, opts.policy))
    throw DiagnosticError{Diagnostic::error(
        "bad-value", "unknown policy '" + policy + "' (fp32, bf16, mxfp8, mxfp8-sparse)")};
  opts.train = train;
  opts.archPath = archPath;
  opts.adamw = {lr, beta1, beta2, eps, weightDecay};
  opts.maxTileK = maxTileK;
  py::gil_scoped_release release;
  arch::ArchSpec spec = unwrap(arch::loadArchSpec(archPath));
  return PyProgram{unwrap(compiler::compile(m.model.graph, m.model.init, spec, opts))};
}

} // namespace
} // namespace tessera::python

using namespace tessera;
using namespace tessera::python;

PYBIND11_MODULE(_tessera, m) {
  m.doc() = "Native bindings of the Tessera compiler and runtime (use the `tessera` package)";

  gErrorType = PyErr_NewExceptionWithDoc(
      "tessera.Error",
      "A Tessera diagnostic. str(e) is the full text `file:line:col: error[id]: message` "
      "with its notes; e.id, e.message, e.file, e.line, e.col and e.text are its parts.",
      PyExc_Exception, nullptr);
  m.attr("Error") = py::handle(gErrorType);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p)
        std::rethrow_exception(p);
    } catch (const DiagnosticError &e) {
      const Diagnostic &d = e.diag;
      std::string text = stripNewline(d.render());
      py::object exc = py::handle(gErrorType)(text);
      exc.attr("id") = d.id;
      exc.attr("message") = d.message;
      exc.attr("file") = d.loc.file;
      exc.attr("line") = d.loc.line;
      exc.attr("col") = d.loc.col;
      exc.attr("text") = text;
      PyErr_SetObject(gErrorType, exc.ptr());
    }
  });

  py::class_<PyOnnxModel>(m, "OnnxModel", "An imported ONNX model with initializer values")
      .def_property_readonly("name", [](const PyOnnxModel &o) { return o.model.graph.name(); })
      .def_property_readonly("source", [](const PyOnnxModel &o) { return o.name; })
      .def_property_readonly("inputs",
                             [](const PyOnnxModel &o) { return graphTensors(o.model.graph, true); })
      .def_property_readonly(
          "outputs", [](const PyOnnxModel &o) { return graphTensors(o.model.graph, false); });

  m.def(
      "import_onnx",
      [](const std::string &path, std::optional<int64_t> batch) {
        return importModel(path, false, path, batch);
      },
      py::arg("path"), py::arg("batch") = py::none(),
      "Imports an ONNX file with its initializer values (workload::importOnnxModel)");
  m.def(
      "import_onnx_bytes",
      [](py::bytes data, const std::string &name, std::optional<int64_t> batch) {
        return importModel(std::string(data), true, name, batch);
      },
      py::arg("data"), py::arg("name"), py::arg("batch") = py::none(),
      "Imports a serialized ModelProto; `name` stands for the file in diagnostics");

  py::class_<PyProgram>(m, "Program", "A compiled tile program (compiler::Program)")
      .def_property_readonly("model", [](const PyProgram &p) { return p.program.model; })
      .def_property_readonly(
          "policy",
          [](const PyProgram &p) { return std::string(compiler::policyName(p.program.policy)); })
      .def_property_readonly("train", [](const PyProgram &p) { return p.program.train; })
      .def_property_readonly("arch_path", [](const PyProgram &p) { return p.program.archPath; })
      .def_property_readonly("instructions",
                             [](const PyProgram &p) { return p.program.code.size(); })
      .def_property_readonly("dram_bytes", [](const PyProgram &p) { return p.program.dramBytes; })
      .def_property_readonly("tensors",
                             [](const PyProgram &p) {
                               py::list l;
                               for (const compiler::DramTensor &t : p.program.tensors)
                                 l.append(tensorInfo(t));
                               return l;
                             })
      .def("listing", [](const PyProgram &p) { return compiler::programListing(p.program); })
      .def(
          "save",
          [](const PyProgram &p, const std::string &dir) {
            check(compiler::writeProgram(p.program, dir));
          },
          py::arg("dir"), "Writes the program directory `tessera run` loads");

  m.def("compile", &compileModel, py::arg("model"), py::arg("arch"), py::arg("policy"),
        py::arg("train"), py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"),
        py::arg("weight_decay"), py::arg("max_tile_k") = 0,
        "Compiles an imported model for the tile of an arch spec file");
  m.def(
      "read_program",
      [](const std::string &dir) {
        py::gil_scoped_release release;
        return PyProgram{unwrap(compiler::readProgram(dir))};
      },
      py::arg("dir"), "Reads a program directory written by `tessera compile`");

  py::class_<PyRuntime>(m, "Runtime", "A program loaded on the device models (runtime::Runtime)")
      .def(py::init([](const PyProgram &p) {
             PyRuntime r;
             r.rt.emplace(unwrap(runtime::Runtime::create(p.program)));
             return r;
           }),
           py::arg("program"))
      .def_property_readonly("steps_done",
                             [](PyRuntime &r) {
                               std::lock_guard<std::mutex> lock(*r.mu);
                               return r.get().stepsDone();
                             })
      .def(
          "tensors_of",
          [](PyRuntime &r, const std::string &role) {
            compiler::DramRole dr;
            if (!compiler::dramRoleFromName(role, dr))
              throw DiagnosticError{Diagnostic::error("bad-value", "unknown role '" + role + "'")};
            return r.get().tensorsOf(dr);
          },
          py::arg("role"), "Names of the (non-view) tensors of a role, in map order")
      .def(
          "shape",
          [](PyRuntime &r, const std::string &name) {
            return py::tuple(py::cast(tensorOf(r.get().program(), name).shape));
          },
          py::arg("name"))
      .def(
          "write",
          [](PyRuntime &r, const std::string &name,
             py::array_t<float, py::array::c_style | py::array::forcecast> a) {
            std::lock_guard<std::mutex> lock(*r.mu);
            check(r.get().write(name, std::span<const float>(a.data(), size_t(a.size()))));
          },
          py::arg("name"), py::arg("values"),
          "Writes a tensor from FP32 values (element count checked)")
      .def(
          "read",
          [](PyRuntime &r, const std::string &name) {
            std::lock_guard<std::mutex> lock(*r.mu);
            std::vector<float> v = unwrap(r.get().read(name));
            return toArray(v, tensorOf(r.get().program(), name).shape);
          },
          py::arg("name"), "Reads a tensor as an FP32 array of its shape")
      .def(
          "gradient",
          [](PyRuntime &r, const std::string &param) {
            std::lock_guard<std::mutex> lock(*r.mu);
            std::vector<float> v = unwrap(r.get().gradient(param));
            return toArray(v, tensorOf(r.get().program(), param).shape);
          },
          py::arg("param"), "The gradient of a parameter after a training step")
      .def(
          "run",
          [](PyRuntime &r, const std::string &backend) {
            runtime::Backend b;
            if (!runtime::backendFromName(backend, b))
              throw DiagnosticError{Diagnostic::error("bad-value", "unknown backend '" + backend +
                                                                       "' (golden, cycle, rtl)")};
            runtime::RunResult res;
            {
              py::gil_scoped_release release;
              std::lock_guard<std::mutex> lock(*r.mu);
              res = unwrap(r.get().run(b));
            }
            r.last = res;
            return resultDict(r.get().program(), res);
          },
          py::arg("backend") = "golden", "Runs the program once; returns the run's report dict")
      .def("last_result",
           [](PyRuntime &r) -> py::object {
             if (!r.last)
               return py::none();
             return resultDict(r.get().program(), *r.last);
           })
      .def(
          "write_report",
          [](PyRuntime &r, const std::string &dir, const std::vector<double> &losses) {
            if (!r.last)
              throw DiagnosticError{Diagnostic::error("no-run", "nothing has run yet: no report")};
            std::lock_guard<std::mutex> lock(*r.mu);
            check(runtime::writeRunReport(r.get(), *r.last, losses, dir));
          },
          py::arg("dir"), py::arg("losses") = std::vector<double>{},
          "Writes DIR/report.json and DIR/report.html of the last run (as `tessera run --report`)");
}
