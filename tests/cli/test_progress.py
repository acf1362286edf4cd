import io

from rich.console import Console

from datacheck.report.progress import progress


def test_no_bar_when_not_a_terminal(capsys):
    with progress(10) as advance:
        for _ in range(10):
            advance(1)
    assert capsys.readouterr().err == ""


def test_bar_counts_when_enabled(monkeypatch):
    import rich.progress

    stream = io.StringIO()
    original = rich.progress.Progress.__init__

    def with_stream(self, *columns, **kwargs):
        kwargs["console"] = Console(file=stream, force_terminal=True, width=100)
        kwargs["transient"] = False
        original(self, *columns, **kwargs)

    monkeypatch.setattr(rich.progress.Progress, "__init__", with_stream)
    with progress(4, "scanning", enabled=True) as advance:
        for _ in range(4):
            advance(1)
    assert "scanning" in stream.getvalue() and "4/4" in stream.getvalue()
