"""``fusednn.callbacks``: the callbacks of ``fit`` (Keras's names and semantics), importable as a
module (``from fusednn.callbacks import EarlyStopping``)."""
from .models.callbacks import (Callback, CallbackList, CSVLogger, EarlyStopping,  # noqa: F401
                               LambdaCallback, LearningRateScheduler, ModelCheckpoint,
                               ReduceLROnPlateau, TensorBoard, TerminateOnNaN)
from .models.backup import BackupAndRestore  # noqa: F401
