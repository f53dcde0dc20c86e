"""`make docs-results`: every committed study has rebuild commands; changed numbers are found and listed."""

from __future__ import annotations

import sys

from studies.docs_results.rebuild import DOCS, Study, compare_study, load_studies, main, rebuild, same_cell


def test_every_committed_study_folder_has_an_entry():
    folders = {p.name for p in DOCS.iterdir() if p.is_dir()}
    studies = load_studies()
    assert folders == set(studies)
    for s in studies.values():
        assert s.needs or s.commands, s.name
        for g in s.compare:  # every glob names committed files: a typo would compare nothing
            assert list((DOCS / s.name).glob(g)), (s.name, g)


def test_cells_compare_numbers_at_a_relative_tolerance_and_text_exactly():
    assert same_cell("71.6", "71.60000001", 1e-6) and not same_cell("71.6", "71.7", 1e-6)
    assert same_cell("nan", "nan", 1e-6) and not same_cell("nan", "1", 1e-6)
    assert same_cell("cam2", "cam2", 0) and not same_cell("cam2", "cam3", 1e-3)


def _write(folder, name, text):
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def test_changes_are_listed_by_file_row_and_column(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    _write(old, "tables/t1.csv", "eps,regression\n0,71.6\n8,226.0\n")
    _write(new, "tables/t1.csv", "eps,regression\n0,71.6\n8,227.5\n")
    _write(old, "tables/t2.csv", "a\n1\n")
    _write(new, "tables/t3.csv", "a\n1\n")
    changes = compare_study(old, new, ["tables/*.csv"], 1e-6)
    assert [str(c) for c in changes] == ["  tables/t1.csv:3 [8, regression]: 226.0 -> 227.5",
                                         "  tables/t2.csv: present -> missing",
                                         "  tables/t3.csv: missing -> present"]
    _write(new, "tables/t1.csv", "eps,regression\n0,71.6\n")
    assert [c.new for c in compare_study(old, new, ["tables/t1.csv"], 1e-6)] == ["2 rows"]


def test_rebuild_runs_the_commands_compares_and_updates(tmp_path, capsys):
    docs, work = tmp_path / "docs", tmp_path / "work"
    _write(docs, "s/tables/t.csv", "eps,m\n8,1.0\n")
    _write(docs, "s/README.md", "hand-written\n")
    write = (f"{sys.executable} -c \"import pathlib; p = pathlib.Path('{{out}}/tables'); p.mkdir(); "
             f"(p / 't.csv').write_text('eps,m\\n8,{{v}}\\n'); "
             f"(pathlib.Path('{{out}}') / 'README.md').write_text('x')\"")
    same = Study("s", [write.replace("{v}", "1.0")], ["tables/*.csv"])
    assert rebuild(same, work, docs=docs) == 0
    changed = Study("s", [write.replace("{v}", "2.0")], ["tables/*.csv"])
    assert rebuild(changed, work, docs=docs) == 1
    assert "tables/t.csv:2 [8, m]: 1.0 -> 2.0" in capsys.readouterr().out
    assert (docs / "s/tables/t.csv").read_text() == "eps,m\n8,1.0\n"  # not updated without --update
    assert rebuild(changed, work, do_update=True, docs=docs) == 1
    assert (docs / "s/tables/t.csv").read_text() == "eps,m\n8,2.0\n"
    assert (docs / "s/README.md").read_text() == "hand-written\n"  # READMEs are kept
    assert rebuild(Study("s", ["exit 3"], []), work, docs=docs) == 2
    assert rebuild(Study("g", [], [], needs="a GPU"), work, docs=docs) == 0


def test_list_prints_commands_without_running_them(capsys):
    assert main(["--list", "attack-quick", "gpu"]) == 0
    out = capsys.readouterr().out
    assert "make --no-print-directory attack-eval ATTACK=quick" in out and "gpu: needs a CUDA GPU" in out
