"""Keras's callbacks (the same classes as :mod:`fusednn.callbacks`, which follow Keras's
semantics)."""
from ..models.callbacks import (Callback, CSVLogger, EarlyStopping,  # noqa: F401
                                LambdaCallback, LearningRateScheduler, ModelCheckpoint,
                                ReduceLROnPlateau, TensorBoard, TerminateOnNaN)
from ..models.backup import BackupAndRestore  # noqa: F401
from ..models.history import History  # noqa: F401
