"""What ``fit`` returns: per-epoch logs, and a plot of them."""
from __future__ import annotations

from .._report import pyplot


def log_value(value):
    """A log entry as a float, or a list of floats for a metric with one value per class (an
    F1Score with average=None, as Keras logs it)."""
    if isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) > 0:
        return [float(v) for v in value]
    return float(value)


def format_log(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(f"{v:.4f}" for v in value) + "]"
    return f"{value:.4f}"


class History:
    """``history[key]`` is the list of that log value per epoch (``loss``, ``accuracy``,
    ``val_loss``, ``val_accuracy``, ``lr``, ...); ``epoch`` the epoch numbers run; ``params``
    Keras's ``{"verbose", "epochs", "steps"}`` (steps per epoch, None when unknown)."""

    def __init__(self):
        self.history, self.epoch, self.params = {}, [], {}

    def append(self, epoch: int, logs: dict) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(log_value(value))

    def __getitem__(self, key):
        return self.history[key]

    def __repr__(self):
        last = {k: format_log(v[-1]) for k, v in self.history.items()}
        return f"History({len(self.epoch)} epochs, last {last})"

    def plot(self, path: str, keys=None) -> str:
        """Training and validation curves, one panel per quantity (loss, each metric, lr), to a
        PNG at ``path``."""
        plt = pyplot()
        names = keys or [k for k in self.history if not k.startswith("val_")
                         and not isinstance(self.history[k][-1], list)]
        fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.4), squeeze=False)
        epochs = [e + 1 for e in self.epoch]
        marker = "o" if len(epochs) < 20 else None  # one epoch is a point, not a line
        for ax, name in zip(axes[0], names):
            ax.plot(epochs, self.history[name], marker=marker,
                    label=f"train {name}" if name != "lr" else "lr")
            if "val_" + name in self.history:
                ax.plot(epochs, self.history["val_" + name], marker=marker,
                        label=f"validation {name}")
            ax.set_xlabel("epoch")
            ax.set_title(name)
            ax.legend()
            if name == "lr":
                ax.set_yscale("log")
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return path
