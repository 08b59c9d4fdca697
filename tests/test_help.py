"""Lab.help lists every public tool, read from the code, so it never goes stale."""

import inspect

from migrationlab import Lab


def test_help_lists_every_public_method_with_its_description(capsys):
    Lab.help()
    shown = capsys.readouterr().out
    public = [name for name, member in inspect.getmembers(Lab)
              if not name.startswith("_") and (inspect.isfunction(member) or isinstance(member, property))]
    assert len(public) > 30
    for name in public:
        assert f"lab.{name}" in shown, name
    for line in shown.splitlines()[1::2]:
        assert line.startswith("    ") and line.strip(), f"a tool without a description: {line!r}"
    assert "%%lab_file [--lab NAME] PATH" in shown and "session.wait_until_blocked(" in shown
