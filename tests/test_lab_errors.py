"""Bad input in a notebook is one line naming the problem and the fix, not a traceback."""

import os

import nbformat
from nbclient import NotebookClient

from tests.conftest import REPO


def test_a_lab_error_in_a_notebook_is_one_line(monkeypatch):
    monkeypatch.setenv("LAB_BACKEND", "server")
    monkeypatch.delenv("LAB_SERVER_URL")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from migrationlab import Lab\n\nlab = Lab()"),
    ])
    NotebookClient(nb, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    outputs = nb.cells[0].outputs
    assert [o.output_type for o in outputs] == ["stream"]
    assert outputs[0].text == (
        "LabError: LAB_BACKEND=server needs a server: set "
        "LAB_SERVER_URL=postgresql://USER:PASSWORD@HOST:5432/postgres\n"
    )
    assert "Traceback" not in outputs[0].text and os.environ.get("LAB_SERVER_URL") is None
