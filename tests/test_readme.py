"""The README's Python examples run as written (except the GPU section's, without a GPU)."""
import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _examples():
    text = README.read_text()
    out, section = [], ""
    for part in re.split(r"^(## .*)$", text, flags=re.M):
        if part.startswith("## "):
            section = part[3:].strip()
            continue
        for k, block in enumerate(re.findall(r"```python\n(.*?)```", part, flags=re.S)):
            out.append(pytest.param(section, block, id=f"{section}-{k}"))
    return out


@pytest.mark.parametrize("section,code", _examples())
def test_readme_example_runs(section, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples may write files (a saved model)
    if section == "GPU":
        pytest.skip("the GPU section's examples need a GPU")
    exec(compile(code, f"README.md ({section})", "exec"), {"__name__": "readme_example"})
