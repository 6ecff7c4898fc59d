"""CPU arrays in a GPU call, and GPU arrays in a CPU call, are errors naming the argument,
raised before anything runs (no GPU needed: a stand-in object exposes only the
__cuda_array_interface__ that CuPy arrays carry)."""
import numpy as np
import pytest

from fusednn import ops
from fusednn.optim import functional as F


class DeviceArray:
    """Looks like a float32 GPU array; any attempt to run a kernel on it would be a bug."""

    def __init__(self, n, typestr="<f4"):
        self.__cuda_array_interface__ = {"shape": (n,), "typestr": typestr, "strides": None,
                                         "data": (0x10000000, False), "version": 3}


def test_gpu_array_in_a_cpu_call_is_named():
    p = np.ones(4, np.float32)
    with pytest.raises(ValueError, match=r"grads\[0\]: is a GPU array .* CPU kernel"):
        F.sgd_([p], [DeviceArray(4)], lr=0.1)
    with pytest.raises(ValueError, match=r"exp_avgs\[0\]: is a GPU array"):
        F.adam_([p], [p.copy()], [DeviceArray(4)], [p.copy()], step=1)


def test_cpu_array_in_a_gpu_call_is_named():
    with pytest.raises(ValueError, match=r"grads\[0\]: is a CPU array .* runs on the GPU"):
        F.sgd_([DeviceArray(4)], [np.ones(4, np.float32)], lr=0.1)
    with pytest.raises(ValueError, match=r"exp_avg_sqs\[1\]: is a CPU array"):
        F.adam_([DeviceArray(4), DeviceArray(2)], [DeviceArray(4), DeviceArray(2)],
                [DeviceArray(4), DeviceArray(2)], [DeviceArray(4), np.ones(2, np.float32)],
                step=1)


def test_gpu_shape_and_dtype_mismatches_are_named():
    with pytest.raises(ValueError, match=r"grads\[0\]: shape \(3,\) does not match"):
        F.sgd_([DeviceArray(4)], [DeviceArray(3)], lr=0.1)
    with pytest.raises(TypeError, match=r"grads\[0\]: expected float32 or float16 or bfloat16"):
        F.sgd_([DeviceArray(4)], [DeviceArray(4, "<f8")], lr=0.1)
    with pytest.raises(TypeError, match=r"grads\[0\]: is float16 but params\[0\] is float32"):
        F.sgd_([DeviceArray(4)], [DeviceArray(4, "<f2")], lr=0.1)


def test_device_scalars_must_have_one_element():
    with pytest.raises(ValueError, match="lr: a device scalar must have one element"):
        F.sgd_([DeviceArray(4)], [DeviceArray(4)], lr=DeviceArray(2))


def test_dropout_refuses_mixed_devices():
    with pytest.raises(TypeError, match="out must be the same kind of array"):
        ops.dropout(DeviceArray(4), 0.5, seed=1, out=np.ones(4, np.float32))
    with pytest.raises(TypeError, match="out must be the same kind of array"):
        ops.dropout(np.ones(4, np.float32), 0.5, seed=1, out=DeviceArray(4))


def test_optimizer_on_gpu_arrays_names_the_group_of_a_cpu_gradient():
    from fusednn import optim

    opt = optim.Adam([DeviceArray(4), DeviceArray(3)], lr=0.1)
    assert opt.on_gpu
    with pytest.raises(ValueError, match=r"param_groups\[0\]\.grads\[1\]: is a CPU array"):
        opt.step(grads=[DeviceArray(4), np.ones(3, np.float32)])
    with pytest.raises(ValueError, match=r"param_groups\[0\]\.grads\[0\]: shape \(5,\) does "
                                         r"not match param_groups\[0\]\.params\[0\]"):
        opt.step(grads=[DeviceArray(5), DeviceArray(3)])


def test_one_optimizer_updates_one_device():
    from fusednn import optim

    with pytest.raises(ValueError, match=r"params\[1\]: is on cpu but earlier parameters are on a GPU"):
        optim.SGD([DeviceArray(4), np.ones(4, np.float32)], lr=0.1)


def test_device_arrays_are_told_apart_without_reading_the_interface():
    """The per-step test of a GPU step counter: torch's is_cuda, else the array interface on
    the type (never the property itself, which CuPy builds on every read)."""
    import torch

    from fusednn.optim.optimizer import _is_device_array

    class Interface:
        @property
        def __cuda_array_interface__(self):
            raise AssertionError("read the interface")

    assert _is_device_array(Interface())
    assert _is_device_array(DeviceArray(1))  # an instance attribute, not the type's
    assert not _is_device_array(torch.zeros(1))
    assert not _is_device_array(np.zeros(1, np.float32))
    assert not _is_device_array(3)
    assert not _is_device_array(None)


class Control:
    """What a GPU StepControl read back says about skipped steps."""

    def __init__(self, skipped, last_skipped):
        self.skipped, self.last_skipped = skipped, last_skipped


class Landed:
    """A stand-in for a control-block copy on its way to the host."""

    def __init__(self, ready):
        self.ready, self.waited = ready, False

    def bytes(self):
        self.waited = True
        return b""


def test_device_skips_are_raised_once_each_naming_the_latest_step(monkeypatch):
    """The host half of nonfinite="raise" on the GPU: a check raises for skips the device
    counted since the last report (naming the latest), then stays quiet until another; a
    step's poll reads only a copy that has landed and never waits for one in flight."""
    from fusednn import _backend
    from fusednn.optim import SGD, NonFiniteGradError, optimizer

    opt = SGD([np.ones(3, np.float32)], lr=0.1)
    opt._control = object()  # as a GPU step leaves it; read back through read_control
    reads = iter([Control(0, 0), Control(2, 7), Control(2, 7), Control(3, 9)])
    monkeypatch.setattr(optimizer, "read_control", lambda control, stream: next(reads))
    opt.check_nonfinite()
    with pytest.raises(NonFiniteGradError, match=r"at step 7 .*\(2 steps skipped since"):
        opt.check_nonfinite()
    opt.check_nonfinite()
    in_flight = opt._readback = Landed(ready=False)
    with pytest.raises(NonFiniteGradError, match=r"at step 9 of this optimizer on the GPU: "):
        opt.check_nonfinite()  # waits for the copy in flight before dropping it
    assert in_flight.waited and opt._readback is None

    class Module:
        class StepControl:
            @staticmethod
            def from_bytes(raw):
                return Control(4, 11)

    monkeypatch.setattr(_backend, "cuda_module", lambda: Module)
    opt._readback = pending = Landed(ready=False)
    opt._poll_nonfinite()
    assert opt._readback is pending and not pending.waited
    pending.ready = True
    with pytest.raises(NonFiniteGradError, match="at step 11 "):
        opt._poll_nonfinite()
    assert opt._readback is None
    opt.nonfinite = "skip"
    opt.check_nonfinite()  # only "raise" reports
