"""The notebook series: its order, navigation and index, and re-running it.

    python scripts/notebooks.py nav          # write navigation cells and 00_Index.ipynb
    python scripts/notebooks.py nav --check  # exit 1 if they are out of date (a test runs this)
    python scripts/notebooks.py run [NAME…]  # execute notebooks in place, storing outputs
                                             # (then run `nav`: navigation is not touched)

Every numbered notebook has the same shape: a navigation cell, a title cell
("# N. Title", a one-line lede, "## What you will learn"), short sections, a
summary, exercises, and a navigation cell. Navigation and the index are
generated here, never written by hand.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
INDEX = "00_Index.ipynb"
NAV_TAG = "nav"


def series() -> list[Path]:
    """The numbered notebooks, in order (the index excluded)."""
    return sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb") if p.name != INDEX)


def title_and_lede(nb: nbformat.NotebookNode) -> tuple[str, str]:
    for cell in nb.cells:
        if cell.cell_type == "markdown" and NAV_TAG not in cell.metadata.get("tags", []):
            lines = [line.strip() for line in cell.source.splitlines()]
            title = next((line[2:] for line in lines if line.startswith("# ")), None)
            if title:
                after = lines[lines.index("# " + title) + 1 :]
                lede = next((line for line in after if line and not line.startswith("#")), "")
                return title, lede
    raise SystemExit(f"no '# Title' markdown cell in the notebook: {nb.metadata.get('name')}")


def link(path: Path | None, label: str) -> str:
    return f"[{label}]({path.name})" if path else ""


def nav_source(prev: Path | None, nxt: Path | None, titles: dict[Path, str]) -> str:
    parts = [
        f"< {link(prev, titles[prev])}" if prev else "",
        "[Contents](00_Index.ipynb)",
        f"{link(nxt, titles[nxt])} >" if nxt else "",
    ]
    return " | ".join(p for p in parts if p)


def nav_cell(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(source, metadata={"tags": [NAV_TAG]})


def with_nav(nb: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    cells = [c for c in nb.cells if NAV_TAG not in c.metadata.get("tags", [])]
    nb.cells = [nav_cell(source), *cells, nav_cell(source)]
    for cell in nb.cells:
        cell.pop("id", None)
    return nb


def index_notebook(paths: list[Path], titles: dict[Path, str], ledes: dict[Path, str]):
    rows = "\n".join(f"- **{link(p, titles[p])}**: {ledes[p]}" for p in paths)
    intro = (
        "# Alembic Migration Lab\n\n"
        "Every workflow of the team's migration guide, run for real against a disposable "
        "PostgreSQL, on the real app's models and migrations. Each notebook takes its own "
        "fresh database, so nothing you do here can harm anything: run, break, re-run.\n\n"
        "## The series\n\n" + rows + "\n\n"
        "Start with the first notebook; each ends with exercises that check your own "
        "database, and a link to the next."
    )
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(intro)]
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    return nb


def coalesce_streams(outputs: list) -> list:
    """Consecutive writes to one stream as one output, as nbval compares them: how a
    kernel happened to split them is not part of what a cell shows."""
    merged: list = []
    for output in outputs:
        last = merged[-1] if merged else None
        if (output.get("output_type") == "stream" and last is not None
                and last.get("output_type") == "stream" and last.get("name") == output.get("name")):
            last["text"] = "".join(last["text"]) + "".join(output["text"])
        else:
            merged.append(output)
    return merged


def render(nb: nbformat.NotebookNode) -> str:
    for cell in nb.cells:
        cell.pop("id", None)
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
    nb.nbformat_minor = 4  # no cell ids: they would change on every write
    return nbformat.writes(nb) + "\n"


def build() -> dict[Path, str]:
    """Return the text every notebook file should have."""
    paths = series()
    notebooks = {p: nbformat.read(p, as_version=4) for p in paths}
    titles, ledes = {}, {}
    for path, nb in notebooks.items():
        titles[path], ledes[path] = title_and_lede(nb)
    wanted = {}
    for i, path in enumerate(paths):
        prev = paths[i - 1] if i > 0 else None
        nxt = paths[i + 1] if i + 1 < len(paths) else None
        wanted[path] = render(with_nav(notebooks[path], nav_source(prev, nxt, titles)))
    wanted[NOTEBOOKS / INDEX] = render(index_notebook(paths, titles, ledes))
    return wanted


def nav(check: bool) -> int:
    stale = []
    for path, text in build().items():
        current = path.read_text() if path.exists() else ""
        if current != text:
            stale.append(path.name)
            if not check:
                path.write_text(text)
    if check and stale:
        print("navigation out of date in: " + ", ".join(stale) + "; run `make nav`")
        return 1
    print(("updated: " + ", ".join(stale)) if stale and not check else "navigation up to date")
    return 0


def run(names: list[str]) -> int:
    """Execute notebooks in place (fresh kernel each), on one disposable server."""
    from nbclient import NotebookClient

    from migrationlab.infra.servers import start_server

    paths = [NOTEBOOKS / n for n in names] if names else series()
    server = start_server()
    os.environ["LAB_SERVER_URL"] = server.url.render_as_string(hide_password=False)
    try:
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            print(f"running {path.name}", flush=True)
            NotebookClient(
                nb, timeout=300, kernel_name="python3", record_timing=False,
                resources={"metadata": {"path": str(NOTEBOOKS)}},
            ).execute()
            path.write_text(render(nb))
    finally:
        server.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    n = sub.add_parser("nav")
    n.add_argument("--check", action="store_true")
    r = sub.add_parser("run")
    r.add_argument("names", nargs="*")
    args = parser.parse_args()
    return nav(args.check) if args.cmd == "nav" else run(args.names)


if __name__ == "__main__":
    sys.exit(main())
