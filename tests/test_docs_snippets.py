"""Every ```python block of README.md and docs/**/*.md runs, as a reader would run it.

The blocks of one file run in order in one fresh interpreter (a later block may use the names of
an earlier one, as a reader who runs them in turn does), in a temporary working directory, and
without the test suite's configuration: no x64 switch, so a snippet that needs float64 says so.

A block is skipped only when the line before its fence (blank lines aside) is the marker

    <!-- skip-snippet: REASON -->

whose REASON states what running it costs, with a number (time, memory, hardware), e.g.
``<!-- skip-snippet: about 4 hours on 2 CPU cores -->``. Snippets that run are kept cheap by
their own sizes (N <= 12, a few steps), not by skipping. The first pages (README, index, install)
run in the default run, the guides and API pages with the slow tests (``-m slow``).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ("docs/_build", "docs/_generated", "docs/gallery/examples")  # written by the docs build
PYTHON_INFO = {"python", "py", "python3"}
SKIP_MARKER = re.compile(r"^\s*<!--\s*skip-snippet:\s*(?P<reason>.*?)\s*-->\s*$")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)")
FILE_TIMEOUT_S = 600


@dataclass(frozen=True)
class Snippet:
    path: str  # relative to the repository root
    line: int  # 1-based line of the opening fence
    source: str
    skip_reason: str | None


def parse_snippets(text: str, path: str) -> list[Snippet]:
    """The ```python blocks of a markdown text, dedented, with their skip markers."""
    lines = text.splitlines()
    snippets = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, indent, info = match["fence"], len(match["indent"]), match["info"].lower()
        end = i + 1
        while end < len(lines):
            closing = FENCE.match(lines[end])
            if closing and closing["fence"][0] == fence[0] and len(closing["fence"]) >= len(fence):
                if not lines[end].strip().strip(fence[0]):
                    break
            end += 1
        if info in PYTHON_INFO:
            body = "\n".join(line[indent:] if line[:indent].isspace() else line for line in lines[i + 1 : end])
            before = i - 1
            while before >= 0 and not lines[before].strip():
                before -= 1
            marker = SKIP_MARKER.match(lines[before]) if before >= 0 else None
            reason = marker["reason"] if marker else None
            snippets.append(Snippet(path, i + 1, textwrap.dedent(body) + "\n", reason))
        i = end + 1
    return snippets


def markdown_files() -> list[Path]:
    files = [ROOT / "README.md"]
    for path in sorted((ROOT / "docs").rglob("*.md")):
        relative = path.relative_to(ROOT).as_posix()
        if not relative.startswith(GENERATED):
            files.append(path)
    return files


def snippets_of(path: Path) -> list[Snippet]:
    return parse_snippets(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())


RUNNER = r"""
import json, sys, time
blocks = json.load(open(sys.argv[1]))
namespace = {"__name__": "__main__"}
for block in blocks:
    print(f"--- running {block['where']}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    exec(compile(block["source"], block["where"], "exec"), namespace)
    print(f"--- {block['where']}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
"""


def run_snippets(snippets: list[Snippet], workdir: Path, timeout: float = FILE_TIMEOUT_S):
    """Run the snippets in order in one fresh interpreter inside ``workdir``."""
    blocks = [{"where": f"{s.path}, block at line {s.line}", "source": s.source} for s in snippets]
    (workdir / "blocks.json").write_text(json.dumps(blocks))
    (workdir / "runner.py").write_text(RUNNER)
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    env["MPLBACKEND"] = "Agg"
    return subprocess.run(
        [sys.executable, "runner.py", "blocks.json"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


FILES_WITH_SNIPPETS = [p for p in markdown_files() if snippets_of(p)]
# The pages a new user meets first run in the default run; the guides and the API pages (each a
# fresh interpreter, 10-50 s apiece on 2 cores) run with the slow tests.
FIRST_PAGES = {"README.md", "docs/index.md", "docs/install.md"}


def _page(path: Path):
    name = path.relative_to(ROOT).as_posix()
    return pytest.param(path, id=name, marks=() if name in FIRST_PAGES else pytest.mark.slow)


@pytest.mark.parametrize("path", [_page(p) for p in FILES_WITH_SNIPPETS])
def test_snippets_run(path, tmp_path):
    runnable = [s for s in snippets_of(path) if s.skip_reason is None]
    if not runnable:
        pytest.skip("every snippet of this file is marked expensive")
    result = run_snippets(runnable, tmp_path)
    assert result.returncode == 0, (
        f"a snippet of {path.relative_to(ROOT)} failed:\n{result.stderr[-6000:]}\n{result.stdout[-2000:]}"
    )


def test_every_skip_marker_states_its_cost():
    markers = [s for p in markdown_files() for s in snippets_of(p) if s.skip_reason is not None]
    for snippet in markers:
        reason = snippet.skip_reason
        assert re.search(r"\d", reason) and len(reason.split()) >= 3, (
            f"{snippet.path}:{snippet.line}: the skip-snippet reason {reason!r} must state the cost with a number"
        )


def test_there_are_snippets_to_run():
    # Guards the collection: a parser that found nothing would make every test above vacuous.
    assert any(p.name == "README.md" for p in FILES_WITH_SNIPPETS)
    assert sum(len(snippets_of(p)) for p in FILES_WITH_SNIPPETS) >= 10


def test_parser_finds_python_blocks_markers_and_indented_fences():
    text = textwrap.dedent(
        """\
        ```bash
        echo not python
        ```

        <!-- skip-snippet: about 3 hours on 2 CPU cores -->

        ```python
        slow()
        ```

        - a list item:

          ```python
          x = 1
          if x:
              y = 2
          ```

        ````markdown
        ```python
        inside_another_block()
        ```
        ````

        ```{code-block} python
        not_run()
        ```
        """
    )
    snippets = parse_snippets(text, "t.md")
    assert [s.line for s in snippets] == [7, 13]
    assert snippets[0].skip_reason == "about 3 hours on 2 CPU cores" and snippets[0].source == "slow()\n"
    assert snippets[1].skip_reason is None
    assert snippets[1].source == "x = 1\nif x:\n    y = 2\n"


def test_runner_reports_a_failing_snippet_with_its_place(tmp_path):
    snippets = [Snippet("t.md", 3, "a = 1\n", None), Snippet("t.md", 9, "assert a == 2, 'wrong a'\n", None)]
    result = run_snippets(snippets, tmp_path, timeout=60)
    assert result.returncode != 0
    assert "t.md, block at line 9" in result.stderr and "wrong a" in result.stderr
    ok = run_snippets([Snippet("t.md", 3, "a = 1\n", None), Snippet("t.md", 9, "assert a == 1\n", None)], tmp_path)
    assert ok.returncode == 0, ok.stderr


def command_lines(text: str) -> list[tuple[int, str]]:
    """The ``netket-arnn ...`` commands of the bash blocks of a markdown text (continuations joined)."""
    commands = []
    in_bash, pending, start = False, "", 0
    for number, line in enumerate(text.splitlines(), 1):
        fence = FENCE.match(line)
        if fence:
            in_bash = not in_bash and fence["info"].lower() in ("bash", "sh", "shell", "console")
            continue
        if not in_bash:
            continue
        if not pending:
            start = number
        pending += line.strip().removesuffix("\\").strip() + " "
        if line.rstrip().endswith("\\"):
            continue
        command, pending = pending.split(" #", 1)[0].strip(), ""
        for part in command.split("&&"):
            if part.strip().startswith("netket-arnn"):
                commands.append((start, part.strip()))
    return commands


def test_every_documented_command_parses():
    from netket_arnn.cli import COMMANDS, build_parser

    names = {command.NAME for command in COMMANDS}
    checked = 0
    for path in markdown_files():
        for line, command in command_lines(path.read_text(encoding="utf-8")):
            argv = shlex.split(command)[1:]
            if not argv or (argv[0] not in names and argv[0] not in ("-h", "--help")):
                argv = ["anneal", *argv]  # what netket_arnn.cli.main does
            try:
                build_parser().parse_args(argv)
            except SystemExit as error:
                raise AssertionError(f"{path.relative_to(ROOT)}:{line}: `{command}` does not parse") from error
            checked += 1
    assert checked >= 5


def test_command_lines_joins_continuations_and_drops_comments():
    text = "```bash\nnetket-arnn anneal --n 8 \\\n    --models 1p  # a comment\npip install x && netket-arnn\n```\n"
    assert command_lines(text) == [(2, "netket-arnn anneal --n 8 --models 1p"), (4, "netket-arnn")]
