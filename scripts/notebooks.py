"""The notebook series, in English and in Korean: its order, navigation and index, the
Korean twins, and re-running notebooks.

    python scripts/notebooks.py nav            # navigation, the indexes, the Korean twins
    python scripts/notebooks.py nav --check    # exit 1 if any is out of date or a translation
                                               # is missing or stale (a test runs this)
    python scripts/notebooks.py prose NAME…    # add the untranslated cells of NAME to its
                                               # Korean prose file, marked TODO
    python scripts/notebooks.py run [NAME…]    # execute notebooks in place, storing outputs
                                               # (all of both tracks, or NAME, ko/NAME; then `nav`)

Every numbered notebook has the same shape: a navigation cell, a title cell
("# N. Title", a one-line lede, "## What you will learn"), short sections, a
summary, exercises, and a navigation cell. Navigation and the index are
generated here, never written by hand.

The English notebooks are the source of every code cell. A Korean twin in
notebooks/ko/ has the same cells in the same order: the same code, and markdown
from notebooks/ko/prose/NAME.md, where each Korean text is keyed by the id of
the English cell it translates and records a hash of the English it was written
from: when the English changes, the translation is stale and the check says so.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
KO = NOTEBOOKS / "ko"
PROSE = KO / "prose"
INDEX = "00_Index.ipynb"
NAV_TAG = "nav"
GUIDE = "guide/alembic-migration-guide.md"


def series() -> list[Path]:
    """The numbered English notebooks, in order (the index excluded)."""
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


# -- navigation and the index ----------------------------------------------------------

WORDS = {
    "en": {"contents": "Contents"},
    "ko": {"contents": "목차"},
}


def link(path: Path | None, label: str) -> str:
    return f"[{label}]({path.name})" if path else ""


def nav_source(prev: Path | None, nxt: Path | None, titles: dict[Path, str], language: str = "en") -> str:
    parts = [
        f"< {link(prev, titles[prev])}" if prev else "",
        f"[{WORDS[language]['contents']}]({INDEX})",
        f"{link(nxt, titles[nxt])} >" if nxt else "",
    ]
    return " | ".join(p for p in parts if p)


def nav_cell(source: str, where: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(source, metadata={"tags": [NAV_TAG]})
    cell.id = f"nav-{where}"
    return cell


def with_nav(nb: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    cells = [c for c in nb.cells if NAV_TAG not in c.metadata.get("tags", [])]
    nb.cells = [nav_cell(source, "top"), *cells, nav_cell(source, "bottom")]
    return nb


INTRO = {
    "en": (
        "# Alembic Migration Lab\n\n"
        "Every workflow of the team's migration guide, run for real against a disposable "
        "PostgreSQL, on the real app's models and migrations. Each notebook takes its own "
        "fresh database, so nothing you do here can harm anything: run, break, re-run.\n\n"
        "{korean}The team's guide itself: "
        f"[{GUIDE.split('/')[1]}]({GUIDE}).\n\n"
        "## The series\n\n{rows}\n\n"
        "Start with the first notebook; each ends with exercises that check your own "
        "database, and a link to the next."
    ),
    "ko": (
        "# Alembic 마이그레이션 랩\n\n"
        "팀의 마이그레이션 가이드에 나오는 모든 작업 흐름을, 실제 앱의 모델과 마이그레이션으로 "
        "일회용 PostgreSQL에서 직접 실행해 봅니다. 노트북마다 새 데이터베이스를 따로 쓰기 때문에 "
        "여기서 무엇을 해도 다른 곳에는 아무 영향이 없습니다. 실행하고, 망가뜨리고, 다시 실행해 보세요.\n\n"
        "팀의 가이드 원문: [alembic-migration-guide.md](../guide/alembic-migration-guide.md). "
        "English: [the English track](../00_Index.ipynb).\n\n"
        "## 시리즈 구성\n\n{rows}\n\n"
        "첫 번째 노트북부터 시작하세요. 노트북마다 끝에 여러분의 데이터베이스를 직접 확인하는 "
        "연습 문제와 다음 노트북으로 가는 링크가 있습니다."
    ),
}


def index_notebook(paths: list[Path], titles: dict[Path, str], ledes: dict[Path, str],
                   language: str = "en", korean: bool = False) -> nbformat.NotebookNode:
    rows = "\n".join(f"- **{link(p, titles[p])}**: {ledes[p]}" for p in paths)
    nb = nbformat.v4.new_notebook()
    to_korean = "한국어로 읽으려면: [한국어 트랙](ko/00_Index.ipynb). " if korean else ""
    text = INTRO[language].replace("{rows}", rows).replace("{korean}", to_korean)
    cell = nbformat.v4.new_markdown_cell(text)
    cell.id = "index"
    nb.cells = [cell]
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    return nb


# -- writing a notebook ----------------------------------------------------------------

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


def ensure_ids(nb: nbformat.NotebookNode, name: str) -> None:
    """Every cell keeps the id it has; a new cell gets one made from the notebook's name,
    its place and its text, so it comes out the same if made again. Translations are
    keyed by these ids."""
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        cell_id = cell.get("id")
        if not cell_id or cell_id in seen or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", cell_id):
            digest = hashlib.sha1(f"{name}:{index}:{cell.source}".encode()).hexdigest()
            cell_id = digest[:12]
            while cell_id in seen:
                cell_id = hashlib.sha1(cell_id.encode()).hexdigest()[:12]
        cell.id = cell_id
        seen.add(cell_id)


def render(nb: nbformat.NotebookNode, name: str = "") -> str:
    nb.nbformat_minor = max(nb.nbformat_minor, 5)  # cells carry ids
    ensure_ids(nb, name)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = coalesce_streams(cell.outputs)
    return nbformat.writes(nb) + "\n"


# -- the Korean track ------------------------------------------------------------------

MARKER = re.compile(r"^<!-- ([A-Za-z0-9_-]+) · en:([0-9a-f]{8})( · TODO)? -->$", re.M)


def english_hash(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:8]


@dataclass
class Entry:
    text: str
    english: str  # hash of the English it translates
    todo: bool


def read_prose(path: Path) -> dict[str, Entry]:
    if not path.exists():
        return {}
    text = path.read_text()
    marks = list(MARKER.finditer(text))
    entries = {}
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        entries[mark[1]] = Entry(text[mark.end():end].strip("\n"), mark[2], bool(mark[3]))
    return entries


def write_prose(path: Path, entries: dict[str, Entry], order: list[str]) -> None:
    header = ("<!-- Korean prose for the notebook of the same name: each text translates the English "
              "markdown cell whose id it names; en: is a hash of that English text. -->\n")
    blocks = [header]
    for cell_id in order:
        if cell_id in entries:
            entry = entries[cell_id]
            todo = " · TODO" if entry.todo else ""
            blocks.append(f"<!-- {cell_id} · en:{entry.english}{todo} -->\n{entry.text}\n")
    path.write_text("\n".join(blocks))


def prose_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The English markdown cells a translation covers (navigation is generated)."""
    return [c for c in nb.cells if c.cell_type == "markdown" and NAV_TAG not in c.metadata.get("tags", [])]


def korean_twin(
    english: nbformat.NotebookNode, entries: dict[str, Entry], existing: nbformat.NotebookNode | None,
    problems: list[str], name: str,
) -> nbformat.NotebookNode:
    """The Korean notebook: the English cells in order, markdown from ENTRIES, code as is;
    a code cell keeps the outputs the existing twin stored for the same code."""
    stored = {c.get("id"): c for c in (existing.cells if existing else []) if c.cell_type == "code"}
    cells = []
    for cell in english.cells:
        if NAV_TAG in cell.metadata.get("tags", []):
            continue
        if cell.cell_type == "markdown":
            entry = entries.get(cell.id)
            if entry is None:
                problems.append(f"{name}: cell {cell.id} has no Korean text "
                                f"(python scripts/notebooks.py prose {name})")
                text = cell.source
            else:
                if entry.todo:
                    problems.append(f"{name}: cell {cell.id} is marked TODO")
                elif entry.english != english_hash(cell.source):
                    problems.append(f"{name}: cell {cell.id}'s Korean is stale: the English changed after it")
                text = entry.text
            twin = nbformat.v4.new_markdown_cell(text)
        else:
            twin = nbformat.v4.new_code_cell(cell.source)
            old = stored.get(cell.id)
            if old is not None and old.source == cell.source:
                twin.outputs, twin.execution_count = old.outputs, old.execution_count
        twin.id = cell.id
        twin.metadata = dict(cell.metadata)
        cells.append(twin)
    nb = nbformat.v4.new_notebook()
    nb.metadata = english.metadata
    nb.cells = cells
    return nb


# -- building and checking every file --------------------------------------------------

def build(problems: list[str]) -> dict[Path, str]:
    """The text every notebook file (both tracks) should have; what is wrong with the
    translations goes into PROBLEMS."""
    paths = series()
    english = {p: nbformat.read(p, as_version=4) for p in paths}
    for path, nb in english.items():
        ensure_ids(nb, path.name)
    wanted: dict[Path, str] = {}
    korean = {}
    for path, nb in english.items():
        prose_path = PROSE / path.with_suffix(".md").name
        if not prose_path.exists():
            continue  # not begun: tests/test_notebooks.py says which twins are missing
        twin_path = KO / path.name
        existing = nbformat.read(twin_path, as_version=4) if twin_path.exists() else None
        korean[twin_path] = korean_twin(nb, read_prose(prose_path), existing, problems, path.name)
    tracks = [(NOTEBOOKS, english, "en"), *([(KO, korean, "ko")] if korean else [])]
    for track, notebooks, language in tracks:
        ordered = sorted(notebooks)
        titles, ledes = {}, {}
        for path in ordered:
            titles[path], ledes[path] = title_and_lede(notebooks[path])
        for i, path in enumerate(ordered):
            prev = ordered[i - 1] if i > 0 else None
            nxt = ordered[i + 1] if i + 1 < len(ordered) else None
            navigation = nav_source(prev, nxt, titles, language)
            wanted[path] = render(with_nav(notebooks[path], navigation), path.name)
        index = index_notebook(ordered, titles, ledes, language, korean=bool(korean))
        wanted[track / INDEX] = render(index, INDEX)
    return wanted


def nav(check: bool) -> int:
    problems: list[str] = []
    stale = []
    for path, text in build(problems).items():
        current = path.read_text() if path.exists() else ""
        if current != text:
            stale.append(str(path.relative_to(NOTEBOOKS)))
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    for problem in problems:
        print(f"translation: {problem}")
    if check and stale:
        print("out of date: " + ", ".join(stale) + "; run `make nav` (then `make notebooks` for new code)")
    if problems or (check and stale):
        return 1
    done = "navigation and Korean twins up to date"
    print(("updated: " + ", ".join(stale)) if stale and not check else done)
    return 0


def prose(names: list[str]) -> int:
    """Add each untranslated markdown cell of NAMES to its prose file (English text, TODO),
    keeping every translation already there; say which are stale."""
    for name in names:
        path = NOTEBOOKS / name
        nb = nbformat.read(path, as_version=4)
        ensure_ids(nb, path.name)
        prose_path = PROSE / path.with_suffix(".md").name
        entries = read_prose(prose_path)
        cells = prose_cells(nb)
        for cell in cells:
            if cell.id not in entries:
                entries[cell.id] = Entry(cell.source, english_hash(cell.source), todo=True)
            elif entries[cell.id].english != english_hash(cell.source):
                print(f"{name}: cell {cell.id} is stale; the English now reads:\n{cell.source}\n")
        PROSE.mkdir(parents=True, exist_ok=True)
        write_prose(prose_path, entries, [c.id for c in cells])
        print(f"{prose_path.relative_to(NOTEBOOKS)}: {sum(e.todo for e in entries.values())} to translate")
    return 0


def run(names: list[str]) -> int:
    """Execute notebooks in place (fresh kernel each, in the notebook's own directory, so a
    Korean twin's checks answer in Korean), on one disposable server."""
    from nbclient import NotebookClient

    from migrationlab.infra.servers import start_server

    twins = [KO / p.name for p in series() if (KO / p.name).exists()]
    paths = [NOTEBOOKS / n for n in names] if names else [*series(), *twins]
    server = start_server()
    os.environ["LAB_SERVER_URL"] = server.url.render_as_string(hide_password=False)
    try:
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            print(f"running {path.relative_to(NOTEBOOKS)}", flush=True)
            NotebookClient(
                nb, timeout=300, kernel_name="python3", record_timing=False,
                resources={"metadata": {"path": str(path.parent)}},
            ).execute()
            path.write_text(render(nb, path.name))
    finally:
        server.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    n = sub.add_parser("nav")
    n.add_argument("--check", action="store_true")
    p = sub.add_parser("prose")
    p.add_argument("names", nargs="+")
    r = sub.add_parser("run")
    r.add_argument("names", nargs="*")
    args = parser.parse_args()
    if args.cmd == "nav":
        return nav(args.check)
    if args.cmd == "prose":
        return prose(args.names)
    return run(args.names)


if __name__ == "__main__":
    sys.exit(main())
