"""%%lab_file: a code cell that is a file of the lab's scratch copy, in a real kernel."""

import nbformat
from nbclient import NotebookClient

from tests.conftest import REPO


def run(*sources: str) -> list[str]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=120,
                   resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    return ["".join(o.get("text", "") for o in c.outputs if o.output_type == "stream")
            + "".join("Traceback" for o in c.outputs if o.output_type == "error") for c in nb.cells]


def test_a_cell_that_is_a_file():
    shown = run(
        "from migrationlab import Lab\nlab = Lab(scratch=True)\nrepo = Lab()",
        "%%lab_file notes/hello.py\nprint('hello')\n",
        "%%lab_file notes/hello.py\nprint('hello, world')\n",
        "print(open(lab.project.path('notes/hello.py')).read())",
        "%%lab_file --lab repo notes/hello.py\nx = 1\n",
        "%%lab_file --lab nobody notes/hello.py\nx = 1\n",
        "%%lab_file\nx = 1\n",
    )
    assert shown[1] == "wrote notes/hello.py (1 line)\n"
    assert shown[2] == "changed notes/hello.py:\n-print('hello')\n+print('hello, world')\n"
    assert shown[3] == "print('hello, world')\n\n"
    assert shown[4].startswith("LabError: this lab works on the repository itself")
    assert shown[5] == "LabError: %%lab_file: no lab named 'nobody' in this notebook; create it first\n"
    assert shown[6] == ("LabError: %%lab_file: the following arguments are required: path; "
                        "write it as %%lab_file [--lab NAME] PATH, e.g. %%lab_file app/api/users/models.py\n")
    assert not (REPO / "notes").exists()


def test_a_revision_filled_in_shows_only_what_changed():
    shown = run(
        "from migrationlab import Lab\nlab = Lab(scratch=True)\n"
        "r = lab.alembic('revision -m \"add bio\" --rev-id 004')",
        "text = open(lab.project.path('alembic/versions/004_add_bio.py')).read()\n"
        "text = text.replace('    pass', '    op.execute(\"select 1\")', 1)\n"
        "text = text.replace(text.split('Create Date: ')[1].split('\\n')[0], '2026-03-02 09:00')\n"
        "get_ipython().run_cell_magic('lab_file', 'alembic/versions/004_add_bio.py', text)",
    )
    assert shown[1] == 'changed alembic/versions/004_add_bio.py:\n-    pass\n+    op.execute("select 1")\n'
