// The CPU fused-optimizer entry points the bindings call. Arguments arrive as raw addresses
// already validated by the kernel front (csrc/bindings/front.h: element type, contiguity,
// writability, shapes, memory overlap); this layer checks list lengths and null pointers,
// builds the pointer table for the parameters' type, and runs the active backend.
#pragma once
#include <cstdint>
#include <vector>

#include "fusednn/optim_hparams.h"

namespace fusednn::cpu {

using Addresses = std::vector<uintptr_t>;

// The parameter (and gradient) types a CPU step takes. State is float32, or float64 for
// float64 parameters.
enum class ParamType { f32, f64, bf16, f16 };
constexpr int kNumParamTypes = 4;

struct StepArgs {
  ParamType type = ParamType::f32;
  Addresses params, grads;
  std::vector<Addresses> states;  // the used state lists, in the per-element math's order
  std::vector<int64_t> sizes;
};

double grad_sum_squares(ParamType type, const Addresses& grads, const std::vector<int64_t>& sizes);

void sgd_step(const StepArgs& args, const SgdHparams& h);
void adagrad_step(const StepArgs& args, const AdagradHparams& h);
void rmsprop_step(const StepArgs& args, const RmspropHparams& h);
void adam_step(const StepArgs& args, const AdamHparams& h);

}  // namespace fusednn::cpu
