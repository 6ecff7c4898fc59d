"""Presentation helpers every layer may use: markdown tables and a headless matplotlib."""
from __future__ import annotations


def markdown_table(headers, rows) -> str:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)


def pyplot():
    """matplotlib.pyplot on the Agg backend, or an ImportError saying how to get it."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install matplotlib "
                          "(or pip install 'fusednn[train]')") from None
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt
