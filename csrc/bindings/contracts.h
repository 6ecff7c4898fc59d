// The contracts Python and C++ share, bound once (in fusednn._cpu; fusednn._cuda uses the same
// classes): each optimizer's hyperparameter struct and its state layout, the activation and
// element-type enums, and the convolution/pooling window geometry. Python builds these objects
// by keyword and reads their layout from them; it never spells that layout again.
#pragma once
#include <pybind11/pybind11.h>

#include <string>

namespace fusednn::bindings {

namespace py = pybind11;

// "Name(a=1, b=2.0)" from the object's `fields`.
inline std::string struct_repr(py::handle self) {
  std::string s = py::str(py::type::handle_of(self).attr("__name__")).cast<std::string>() + "(";
  py::tuple fields = py::type::handle_of(self).attr("fields");
  for (size_t i = 0; i < fields.size(); ++i) {
    const std::string f = py::str(fields[i]);
    s += (i ? ", " : "") + f + "=" + py::repr(self.attr(f.c_str())).cast<std::string>();
  }
  return s + ")";
}

}  // namespace fusednn::bindings

#define FUSEDNN_FIELD_NAME(type, name) #name,
#define FUSEDNN_BIND_FIELD(type, name) cls.def_readwrite(#name, &Struct::name);
#define FUSEDNN_SET_FIELD(type, name) \
  if (key == #name) {                 \
    value.name = item.second.cast<type>(); \
    continue;                         \
  }

// Binds a struct whose fields come from an X-list (see fusednn/optim_hparams.h): keyword
// construction (fields left out are zero; an unknown keyword is a TypeError naming it), the
// fields, `fields` (their names, in order), copy and repr.
#define FUSEDNN_BIND_STRUCT(module, StructType, pyname, FIELDS)                                \
  [&]() {                                                                                    \
    using Struct = StructType;                                                               \
    py::class_<Struct> cls(module, pyname);                                                  \
    cls.def(py::init([](py::kwargs kwargs) {                                                 \
      Struct value{};                                                                        \
      for (auto item : kwargs) {                                                             \
        const std::string key = py::str(item.first);                                         \
        FIELDS(FUSEDNN_SET_FIELD)                                                            \
        throw py::type_error(std::string(pyname) + ": unknown field '" + key + "'");         \
      }                                                                                      \
      return value;                                                                          \
    }));                                                                                     \
    FIELDS(FUSEDNN_BIND_FIELD)                                                               \
    static const char* const names[] = {FIELDS(FUSEDNN_FIELD_NAME)};                         \
    py::tuple field_names(sizeof(names) / sizeof(names[0]));                                 \
    for (size_t i = 0; i < field_names.size(); ++i) field_names[i] = py::str(names[i]);      \
    cls.attr("fields") = field_names;                                                        \
    cls.def("__copy__", [](const Struct& v) { return Struct(v); });                          \
    cls.def("__deepcopy__", [](const Struct& v, py::handle) { return Struct(v); });          \
    cls.def("__repr__", &fusednn::bindings::struct_repr);                                    \
    return cls;                                                                              \
  }()

#include "bindings/front.h"
#include "fusednn/act_math.h"
#include "fusednn/geometry.h"
#include "fusednn/rnn_math.h"

namespace fusednn::bindings {

// The activation and element-type enums and the window geometry (fusednn._cpu).
inline void bind_shared_contracts(py::module_& m) {
  py::enum_<Act>(m, "Act", "Activation codes of the fused bias+activation passes (act_math.h).")
      .value("identity", Act::kIdentity)
      .value("relu", Act::kRelu)
      .value("leaky_relu", Act::kLeakyRelu)
      .value("sigmoid", Act::kSigmoid)
      .value("tanh", Act::kTanh)
      .value("gelu", Act::kGelu)
      .value("gelu_tanh", Act::kGeluTanh);
  m.attr("POOL_2X2_MAX_PLANE") = kPool2x2MaxPlane;
  m.def("act_saves_input", [](Act a) { return act_saves_input(a); }, py::arg("act"),
        "Whether the activation's backward reads its input (else its output).");
  py::enum_<RnnCell>(m, "RnnCell", "Recurrent cells of the fused sequence kernels (rnn_math.h).")
      .value("rnn_tanh", RnnCell::kRnnTanh)
      .value("rnn_relu", RnnCell::kRnnRelu)
      .value("lstm", RnnCell::kLstm)
      .value("gru", RnnCell::kGru)
      .value("gru_reset_before", RnnCell::kGruResetBefore);
  m.def("rnn_gates", [](RnnCell c) { return rnn_gates(c); }, py::arg("cell"),
        "Gates per hidden unit: the rows of W_ih and W_hh are gates * hidden.");

  py::enum_<front::DType>(m, "DType", "Element types the kernel front knows.")
      .value("float32", front::DType::f32)
      .value("float16", front::DType::f16)
      .value("bfloat16", front::DType::bf16)
      .value("float64", front::DType::f64)
      .value("int32", front::DType::i32)
      .value("int64", front::DType::i64)
      .value("uint32", front::DType::u32)
      .value("uint8", front::DType::u8);

  FUSEDNN_BIND_STRUCT(m, ConvGeometry, "ConvGeometry", FUSEDNN_CONV_FIELDS);
  FUSEDNN_BIND_STRUCT(m, PoolGeometry, "PoolGeometry", FUSEDNN_POOL_FIELDS);
  m.def("window_output_size", &window_output_size, py::arg("size"), py::arg("kernel"),
        py::arg("stride"), py::arg("pad"), py::arg("dilation"), py::arg("ceil_mode") = false,
        "Outputs of a window sliding over `size` inputs (torch's rule; 0 when none fits): "
        "the one formula the Python geometry and the kernels' checks share.");

  front::bind_register_tensor_type(m);
  m.def("describe_array", [](py::handle h, const std::string& name) {
    const front::Array a = front::read(h, front::named(name.c_str()));
    py::dict d;
    d["dtype"] = front::dtype_name(a.dtype);
    d["shape"] = a.shape_str();
    d["size"] = a.size;
    d["gpu"] = a.gpu;
    d["device"] = a.device;
    d["address"] = a.data;
    d["writable"] = a.writable;
    return d;
  }, py::arg("array"), py::arg("name") = "array",
     "What the kernel front reads of an array (for diagnostics and tests).");
}

}  // namespace fusednn::bindings
