// The CPU fused-optimizer entry points the bindings call. Arguments arrive as raw addresses
// already validated by the Python kernel front (dtype, contiguity, writability, shapes); this
// layer re-checks what is cheap to check in one place (list lengths, null pointers, memory
// overlap between what is written and anything else), builds the pointer table, and runs the
// active backend. Nothing is written unless every check passes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "fusednn/optim_hparams.h"

namespace fusednn::cpu {

using Addresses = std::vector<uintptr_t>;

struct StateList {
  std::string name;  // for error messages, e.g. "exp_avgs"
  Addresses addresses;
};

struct StepArgs {
  Addresses params, grads;
  std::vector<StateList> states;
  std::vector<int64_t> sizes;
};

double grad_sum_squares(const Addresses& grads, const std::vector<int64_t>& sizes);

void sgd_step(const StepArgs& args, const SgdHparams& h);
void adagrad_step(const StepArgs& args, const AdagradHparams& h);
void rmsprop_step(const StepArgs& args, const RmspropHparams& h);
void adam_step(const StepArgs& args, const AdamHparams& h);

}  // namespace fusednn::cpu
