// The control block of a GPU optimizer step: written by the gradient-norm pass, read by the
// update kernels, kept in device memory across steps so `skipped` counts every skipped step
// without the host looking (`steps`: the steps checked so far; `last_skipped`: the number of
// the latest skipped one, 1-based, 0 before any). Python reads it back as
// fusednn._cuda.StepControl.
#pragma once

namespace fusednn {

#define FUSEDNN_STEP_CONTROL_FIELDS(X) \
  X(float, scale) X(float, norm) X(int, skip) X(int, skipped) X(int, steps) X(int, last_skipped)

struct StepControl {
#define FUSEDNN_STEP_CONTROL_FIELD(type, name) type name;
  FUSEDNN_STEP_CONTROL_FIELDS(FUSEDNN_STEP_CONTROL_FIELD)
#undef FUSEDNN_STEP_CONTROL_FIELD
};

}  // namespace fusednn
