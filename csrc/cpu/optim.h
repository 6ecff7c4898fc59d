// The CPU fused-optimizer entry points the bindings call. Arguments arrive as raw addresses
// already validated by the kernel front (csrc/bindings/front.h: element type, contiguity,
// writability, shapes, memory overlap); this layer checks list lengths and null pointers,
// builds the pointer table, and runs the active backend.
#pragma once
#include <cstdint>
#include <vector>

#include "fusednn/optim_hparams.h"

namespace fusednn::cpu {

using Addresses = std::vector<uintptr_t>;

struct StepArgs {
  Addresses params, grads;
  std::vector<Addresses> states;  // the used state lists, in the per-element math's order
  std::vector<int64_t> sizes;
};

double grad_sum_squares(const Addresses& grads, const std::vector<int64_t>& sizes);

void sgd_step(const StepArgs& args, const SgdHparams& h);
void adagrad_step(const StepArgs& args, const AdagradHparams& h);
void rmsprop_step(const StepArgs& args, const RmspropHparams& h);
void adam_step(const StepArgs& args, const AdamHparams& h);

}  // namespace fusednn::cpu
