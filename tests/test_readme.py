"""The README's Python example runs as written."""

import re
from pathlib import Path


def test_readme_python_example_runs():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    [example] = re.findall(r"```python\n(.*?)```", readme, re.S)
    exec(compile(example, "README.md", "exec"), {})
