"""The installed `bittern` command, end to end."""

from __future__ import annotations

import io
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import pytest

import bittern

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def run(script: str, *args: str | os.PathLike[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [script, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], status: int = 1) -> str:
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("bittern: error: ")
    return lines[0]


def test_version(bittern_script: str) -> None:
    result = run(bittern_script, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"bittern {bittern.__version__}"


def test_python_dash_m(folder: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bittern", "--version"], capture_output=True, text=True, cwd=folder
    )
    assert result.returncode == 0
    assert bittern.__version__ in result.stdout


def test_start_up_imports_nothing_only_some_commands_need() -> None:
    # Every command pays for what `bittern.cli` imports: urllib.request alone was 40 ms, 12% of
    # `bittern create` on 1 GiB (issue 11). The commands that need these import them themselves.
    code = "import sys, bittern.cli; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(result.stdout.split())
    assert not loaded & {"urllib.request", "http.client", "ssl", "email", "tempfile", "subprocess"}


def test_create_then_show_json(bittern_script: str, folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.torrent"
    result = run(
        bittern_script, "create", folder, "-t", "http://a/ann", "-t", "http://b/1,http://b/2",
        "-o", out, "--piece-length", "32K", "--private", "--comment", "hi there", "--no-date",
        "--web-seed", "http://seed/1", "--web-seed", "http://seed/2", "--threads", "2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    t = bittern.Torrent.load(out)
    assert t.info_hash_hex in result.stdout
    assert str(out) in result.stdout
    assert result.stderr == ""  # no progress bar when stderr is not a terminal

    shown = run(bittern_script, "show", out, "--json")
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    assert info["name"] == "album"
    assert info["info_hash"] == t.info_hash_hex
    assert len(info["info_hash"]) == 40 and info["info_hash"] == info["info_hash"].lower()
    assert info["piece_length"] == 32768
    assert info["piece_count"] == t.piece_count
    assert info["total_length"] == t.total_length
    assert info["files"] == [
        {"path": "album/a.txt", "length": 6000, "offset": 0},
        {"path": "album/b.bin", "length": 70000, "offset": 6000},
        {"path": "album/disc 2/c.bin", "length": 76800, "offset": 76000},
    ]
    assert info["announce"] == "http://a/ann"
    assert info["announce_list"] == [["http://a/ann"], ["http://b/1", "http://b/2"]]
    assert info["private"] is True
    assert info["comment"] == "hi there"
    assert info["created_by"] == f"bittern {bittern.__version__}"
    assert info["creation_date"] is None
    assert info["url_list"] == ["http://seed/1", "http://seed/2"]
    assert info["is_multi_file"] is True
    assert info["warnings"] == []


def test_create_defaults(bittern_script: str, folder: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    result = run(bittern_script, "create", folder, "-t", "http://a/ann", cwd=work)
    assert result.returncode == 0, result.stderr
    out = work / "album.torrent"
    t = bittern.Torrent.load(out)
    assert t.announce == "http://a/ann" and t.announce_list == []
    assert t.creation_date is not None
    assert not t.private

    again = run(bittern_script, "create", folder, cwd=work)
    line = assert_one_line_error(again)
    assert "album.torrent" in line and "--force" in line
    assert bittern.Torrent.load(out) == t

    forced = run(bittern_script, "create", folder, "--force", "--no-date", cwd=work)
    assert forced.returncode == 0, forced.stderr
    assert bittern.Torrent.load(out).trackers == []

    named = run(bittern_script, "create", folder, "--name", "renamed", cwd=work)
    assert named.returncode == 0, named.stderr
    assert bittern.Torrent.load(work / "renamed.torrent").name == "renamed"


def test_create_from_dot(bittern_script: str, folder: Path, tmp_path: Path) -> None:
    result = run(bittern_script, "create", ".", "-o", tmp_path / "dot.torrent", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert bittern.Torrent.load(tmp_path / "dot.torrent").name == "album"
    default = run(bittern_script, "create", ".", cwd=folder)
    assert default.returncode == 0, default.stderr
    assert (folder / "album.torrent").exists()


@pytest.mark.parametrize("size,expected", [("16384", 16384), ("64k", 65536), ("1M", 1 << 20), ("2MiB", 2 << 20)])
def test_piece_length_suffixes(bittern_script: str, folder: Path, tmp_path: Path, size: str, expected: int) -> None:
    out = tmp_path / "p.torrent"
    result = run(bittern_script, "create", folder, "-o", out, "--piece-length", size)
    assert result.returncode == 0, result.stderr
    assert bittern.Torrent.load(out).piece_length == expected


def test_show_text(bittern_script: str) -> None:
    result = run(bittern_script, "show", VECTORS / "torrents" / "announce-list.torrent")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    for expected in [
        "file.bin", "2fd0ba85e37697550fc82309cbb797ddbe9cb2e2", "32768", "http://a/ann",
        "udp://c:80", "hello", "vectors", "2023-11-14", "http://seed/one",
    ]:  # fmt: skip
        assert expected in text


def test_show_json_non_utf8_and_warnings(bittern_script: str) -> None:
    result = run(bittern_script, "show", "--json", VECTORS / "torrents" / "latin1-name.torrent")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "caf\ufffd.txt"
    result = run(bittern_script, "show", "--json", VECTORS / "torrents" / "unsorted.torrent")
    assert len(json.loads(result.stdout)["warnings"]) == 2


@pytest.mark.parametrize("file", ["not-bencode.torrent", "truncated.torrent", "no-info.torrent", "path-dotdot.torrent"])
def test_show_bad_file(bittern_script: str, file: str) -> None:
    line = assert_one_line_error(run(bittern_script, "show", VECTORS / "torrents" / file))
    assert file in line


def test_show_missing_file(bittern_script: str, tmp_path: Path) -> None:
    line = assert_one_line_error(run(bittern_script, "show", tmp_path / "nope.torrent"))
    assert "nope.torrent" in line and "No such file" in line


def test_create_failures(bittern_script: str, tmp_path: Path) -> None:
    assert_one_line_error(run(bittern_script, "create", tmp_path / "missing", "-o", tmp_path / "x.torrent"))
    (tmp_path / "empty").mkdir()
    assert_one_line_error(run(bittern_script, "create", tmp_path / "empty", "-o", tmp_path / "y.torrent"))
    (tmp_path / "f").write_bytes(b"x")
    line = assert_one_line_error(
        run(bittern_script, "create", tmp_path / "f", "-o", tmp_path / "z.torrent", "--piece-length", "1000")
    )
    assert "piece length" in line
    assert_one_line_error(run(bittern_script, "create", tmp_path / "f", "-o", tmp_path / "no" / "dir.torrent"))


@pytest.mark.parametrize(
    "args",
    [[], ["create"], ["show"], ["frobnicate"], ["create", "x", "--piece-length", "lots"], ["create", "x", "--threads", "-1"]],
)
def test_usage_errors(bittern_script: str, args: list[str]) -> None:
    result = run(bittern_script, *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "bittern" in result.stderr and "error:" in result.stderr


def test_main_returns_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bittern.cli import main

    assert main(["--version"]) == 0
    assert main(["show", str(tmp_path / "missing.torrent")]) == 1
    assert main(["show"]) == 2
    assert "bittern: error:" in capsys.readouterr().err


def _threads(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_create(bittern_script: str, big_sparse: Path, tmp_path: Path) -> None:
    out = tmp_path / "big.torrent"
    proc = subprocess.Popen(
        [bittern_script, "create", str(big_sparse), "-o", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Wait until hashing has started (its threads exist) so that SIGINT lands in `create`,
        # not in Python's start-up; without /proc, just wait a moment.
        deadline = time.monotonic() + 10
        time.sleep(0.5)
        if os.path.isdir("/proc/self/task"):
            while _threads(proc.pid) < 2 and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
        assert proc.poll() is None, "hashing 4 GiB finished before it could be interrupted"
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=5)
        elapsed = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert elapsed < 3
    assert "Traceback" not in stderr
    assert not out.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses a Linux pseudo-terminal")
def test_progress_bar_only_on_a_terminal(bittern_script: str, tmp_path: Path) -> None:
    import fcntl
    import pty
    import struct
    import termios

    source = tmp_path / "sparse.bin"
    with open(source, "wb") as f:
        f.truncate(64 << 20)
    primary, secondary = pty.openpty()
    try:
        # An 80-column terminal, as a real one would report.
        fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        proc = subprocess.run(
            [bittern_script, "create", str(source), "-o", str(tmp_path / "s.torrent")],
            stdout=subprocess.PIPE,
            stderr=secondary,
            timeout=60,
        )
        os.set_blocking(primary, False)
        shown = b""
        try:
            while chunk := os.read(primary, 65536):
                shown += chunk
        except BlockingIOError:
            pass
    finally:
        os.close(primary)
        os.close(secondary)
    assert proc.returncode == 0
    # Binary units, spelled out (tqdm's own said `64.0M`, and `MB/s` for MiB/s).
    assert b"hashing" in shown and b"/64 MiB" in shown
    assert b"info hash" in proc.stdout


def test_help_says_the_units(bittern_script: str) -> None:
    result = run(bittern_script, "--help")
    assert result.returncode == 0
    assert "binary units: 1 KiB = 1024 bytes" in " ".join(result.stdout.split())


def fake_status(done: int, total: int = 4 << 20, **fields: object) -> Any:
    """What `Display` reads of a `TorrentStatus`."""
    values: dict[str, object] = dict(
        bytes_done=done, total_length=total, progress=done / total, finished=done == total, downloaded=done,
        download_rate=0, upload_rate=0, peers=0, eta=0 if done == total else None,
    )
    values.update(fields)
    return types.SimpleNamespace(**values)


def test_display_finished_shows_done_and_the_average(capsys: pytest.CaptureFixture[str]) -> None:
    from bittern.cli.progress import Display
    from bittern.cli.units import average_rate

    display = Display(4 << 20, tty=False, start=time.monotonic() - 2.0)
    display.update(fake_status(1 << 20, download_rate=3 << 20, peers=3), force=True)
    # Finished: the seeds are dropped, the engine's rates and peers fall to 0.
    final = fake_status(4 << 20)
    display.update(final, force=True)
    display.close()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == " 25.0% of 4 MiB, 3 MiB/s down, 0 B/s up, 3 peers, ETA ?"
    average = average_rate(4 << 20, display.elapsed)
    assert average in ("2.0 MiB/s", "2047.9 KiB/s", "2048.0 KiB/s")  # 2 s, and a little
    assert lines[-1] == f"100.0% of 4 MiB, done, {average} on average", lines
    # The summary says the same average.
    assert display.summary(final) == f"4 MiB in {display.elapsed:.1f} s ({average})"


def test_display_close_shows_what_the_rate_limit_held_back(capsys: pytest.CaptureFixture[str]) -> None:
    from bittern.cli.progress import Display

    display = Display(1000, tty=False, label="peer 1", every=3600)
    display.update(fake_status(820, 1000, peers=2))
    display.update(fake_status(988, 1000, peers=2))  # held back: less than `every` later
    display.close()
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == ["peer 1:  82.0% of 1000 B", "peer 1:  98.8% of 1000 B"]


def test_display_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from bittern.cli.progress import Display
    from bittern.cli.units import average_rate

    screen = io.StringIO()
    monkeypatch.setattr(sys, "stderr", screen)
    display = Display(4 << 20, tty=True, start=time.monotonic() - 4.0)
    display.update(fake_status(1 << 20, download_rate=1 << 20, peers=1))
    display.update(fake_status(4 << 20))
    display.close()
    shown = screen.getvalue()
    assert "1 MiB/4 MiB, 1 MiB/s down, 0 B/s up, 1 peer, ETA ?" in shown
    last = shown.rstrip().split("\r")[-1]
    average = average_rate(4 << 20, display.elapsed)
    assert last.startswith("100%|") and last.endswith(f"| 4 MiB/4 MiB, done, {average} on average"), last
    assert "MB" not in shown and "0 peers" not in shown


# ----------------------------------------------------------------------------------------------
# tracker, announce, scrape


class TrackerProcess:
    """`bittern tracker ...` as a subprocess; `url` read from its first line of output, and
    `udp_url` from the second unless `--no-udp` is among the arguments."""

    def __init__(self, script: str, *args: str | os.PathLike[str]) -> None:
        self.proc = subprocess.Popen(
            [script, "tracker", "--bind", "127.0.0.1:0", *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        first = self.line()
        assert first.startswith("announce URL: http://127.0.0.1:"), first
        self.url = first.split()[-1]
        self.udp_url: str | None = None
        if "--no-udp" not in args:
            second = self.line()
            assert second.startswith("UDP announce: udp://127.0.0.1:"), second
            self.udp_url = second.split()[-1]

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def line(self, timeout: float = 10) -> str:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("bittern tracker printed nothing") from None
        assert line is not None, "bittern tracker ended"
        return line

    def stop(self, sig: int = signal.SIGINT) -> tuple[str, str, float]:
        """Sends `sig`, waits for the exit; returns the rest of stdout, stderr and the time."""
        sent = time.monotonic()
        self.proc.send_signal(sig)
        self.proc.wait(timeout=10)
        elapsed = time.monotonic() - sent
        self.reader.join(10)
        rest = []
        while (line := self.lines.get_nowait()) is not None:
            rest.append(line)
        assert self.proc.stderr is not None
        return "".join(rest), self.proc.stderr.read(), elapsed

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def make_torrent(tmp_path: Path, announce: str | list[list[str]] | None, name: str = "payload.bin") -> Path:
    source = tmp_path / name
    source.write_bytes(os.urandom(40_000))
    out = tmp_path / f"{name}.torrent"
    bittern.Torrent.create(source, announce=announce, creation_date=None).save(out)
    return out


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_tracker_announce_scrape(bittern_script: str, tmp_path: Path) -> None:
    published = tmp_path / "published"
    published.mkdir()
    shared = make_torrent(published, None, name="shared.bin")
    tracker = TrackerProcess(bittern_script, "--torrents", published, "--interval", "600")
    try:
        assert tracker.line() == f"index page:   {tracker.url[: -len('announce')]}\n"
        assert tracker.line().startswith("publishing:   shared.bin.torrent (shared.bin, ")
        file = make_torrent(tmp_path, tracker.url)
        info_hash = bittern.Torrent.load(file).info_hash_hex

        first = run(bittern_script, "announce", file, "--port", "7001", "--event", "started", "--json")
        assert first.returncode == 0, first.stderr
        answer = json.loads(first.stdout)
        assert answer == {
            "url": tracker.url, "info_hash": info_hash, "interval": 600, "min_interval": 60,
            "complete": 0, "incomplete": 1, "warning": None, "peers": [],
        }  # fmt: skip

        second = run(bittern_script, "announce", file, "--port", "7002", "--numwant", "5", "--json")
        assert json.loads(second.stdout)["peers"] == [{"ip": "127.0.0.1", "port": 7001, "peer_id": None}]

        text = run(bittern_script, "announce", file, "--port", "7003", "--left", "0", "--event", "completed")
        assert text.returncode == 0, text.stderr
        for expected in [f"Tracker:  {tracker.url}", "Interval: 600 s (min 60 s)", "Seeders:  1", "Leechers: 2", "Peers:    2", "  127.0.0.1:7001", "  127.0.0.1:7002"]:  # fmt: skip
            assert expected in text.stdout.splitlines(), text.stdout

        scraped = run(bittern_script, "scrape", file, "--json", "--timeout", "5")
        assert scraped.returncode == 0, scraped.stderr
        assert json.loads(scraped.stdout) == {
            "info_hash": info_hash, "known": True, "complete": 1, "incomplete": 2, "downloaded": 1,
        }  # fmt: skip
        assert run(bittern_script, "scrape", file).stdout.split() == ["Seeders:", "1", "Leechers:", "2", "Downloaded:", "1"]

        # A torrent the tracker has not seen: scraping says so.
        other = make_torrent(tmp_path, tracker.url, name="other.bin")
        unknown = json.loads(run(bittern_script, "scrape", other, "--json").stdout)
        assert unknown["known"] is False and unknown["complete"] is None
        assert "does not know" in run(bittern_script, "scrape", other).stdout

        # The published torrent is served as it is on disk.
        import urllib.request

        page = urllib.request.urlopen(tracker.url[: -len("announce")], timeout=10).read().decode()
        assert "shared.bin" in page
        stdout, stderr, elapsed = tracker.stop(signal.SIGINT)
    finally:
        tracker.kill()
    assert tracker.proc.returncode == 0, stderr
    assert elapsed < 5
    assert stderr == ""
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d "
    lines = stdout.splitlines()
    assert re.fullmatch(stamp + r"listening on " + re.escape(tracker.url), lines[0]), lines
    assert re.fullmatch(stamp + r"listening on " + re.escape(str(tracker.udp_url)), lines[1]), lines
    assert any(re.fullmatch(stamp + f"new torrent {info_hash} from 127.0.0.1", line) for line in lines), lines
    assert any(re.fullmatch(stamp + f"{info_hash} completed by 127.0.0.1", line) for line in lines), lines
    assert re.fullmatch(stamp + "stopped", lines[-1]), lines
    assert shared.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_tracker_stops_on_sigterm(bittern_script: str) -> None:
    tracker = TrackerProcess(bittern_script)
    try:
        stdout, stderr, elapsed = tracker.stop(signal.SIGTERM)
    finally:
        tracker.kill()
    assert tracker.proc.returncode == 0, stderr
    assert elapsed < 5
    assert stdout.splitlines()[-1].endswith(" stopped")


def test_tracker_failures(bittern_script: str, tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = assert_one_line_error(run(bittern_script, "tracker", "--bind", f"127.0.0.1:{port}"))
        assert "cannot listen" in line and str(port) in line
    assert "host:port" in assert_one_line_error(run(bittern_script, "tracker", "--bind", "nowhere"))
    assert "--torrents" in assert_one_line_error(run(bittern_script, "tracker", "--allow-only"))
    line = assert_one_line_error(
        run(bittern_script, "tracker", "--bind", "127.0.0.1:0", "--torrents", tmp_path / "missing")
    )
    assert "missing" in line


def test_announce_and_scrape_failures(bittern_script: str, tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/announce"
    file = make_torrent(tmp_path, dead)
    for command in ["announce", "scrape"]:
        started = time.monotonic()
        line = assert_one_line_error(run(bittern_script, command, file, "--timeout", "3"))
        assert "cannot reach tracker" in line
        assert time.monotonic() - started < 10
    untracked = make_torrent(tmp_path, None, name="untracked.bin")
    assert "no tracker" in assert_one_line_error(run(bittern_script, "announce", untracked))
    line = assert_one_line_error(run(bittern_script, "announce", VECTORS / "torrents" / "no-info.torrent"))
    assert "no-info.torrent" in line
    line = assert_one_line_error(run(bittern_script, "scrape", tmp_path / "nope.torrent"))
    assert "nope.torrent" in line


@pytest.mark.parametrize(
    "args",
    [
        ["tracker", "--interval", "0"],
        ["tracker", "--interval", "soon"],
        ["announce"],
        ["announce", "x.torrent", "--event", "paused"],
        ["announce", "x.torrent", "--port", "0"],
        ["announce", "x.torrent", "--port", "70000"],
        ["announce", "x.torrent", "--left", "-1"],
        ["announce", "x.torrent", "--timeout", "0"],
        ["scrape"],
        ["scrape", "x.torrent", "--timeout", "never"],
    ],
)
def test_tracker_usage_errors(bittern_script: str, args: list[str]) -> None:
    result = run(bittern_script, *args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "error:" in result.stderr


def test_verbose_shows_the_engine_diagnostics(bittern_script: str, tmp_path: Path) -> None:
    with bittern.Tracker("127.0.0.1:0") as tracker:
        torrent = make_torrent(tmp_path, tracker.url)
        quiet = run(bittern_script, "announce", torrent)
        debug = run(bittern_script, "-v", "announce", torrent)
        trace = run(bittern_script, "-vv", "announce", torrent)
    for result in (quiet, debug, trace):
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("Tracker:")
    assert quiet.stderr == ""
    assert "DEBUG" in debug.stderr and "announced" in debug.stderr
    assert "TRACE" not in debug.stderr
    assert "announced" in trace.stderr


def test_verbose_goes_before_the_command(bittern_script: str) -> None:
    result = run(bittern_script, "show", "-v", "x.torrent")
    assert result.returncode == 2
    assert "unrecognized arguments: -v" in result.stderr


def test_create_warns_about_missing_or_malformed_trackers(bittern_script: str, folder: Path, tmp_path: Path) -> None:
    """Issue 9: a torrent no tracker will announce is still made, with a warning."""
    bare = run(bittern_script, "create", folder, "-o", tmp_path / "bare.torrent")
    assert bare.returncode == 0, bare.stderr
    assert "no tracker" in bare.stderr
    bad = run(bittern_script, "create", folder, "-t", "tracker.example/announce", "-o", tmp_path / "bad.torrent")
    assert bad.returncode == 0, bad.stderr
    assert "tracker.example/announce" in bad.stderr and "not a tracker URL" in bad.stderr
    good = run(bittern_script, "create", folder, "-t", "udp://t.example:6969", "-o", tmp_path / "good.torrent")
    assert good.returncode == 0 and "warning" not in good.stderr, good.stderr


def test_download_status_says_which_tracker_is_unreachable(bittern_script: str, folder: Path, tmp_path: Path) -> None:
    """Issue 9: the status line keeps naming the unreachable tracker and why, not only `0 peers`."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/announce"
    made = run(bittern_script, "create", folder, "-t", url, "-o", tmp_path / "dead.torrent")
    assert made.returncode == 0, made.stderr
    proc = subprocess.Popen(
        [bittern_script, "download", str(tmp_path / "dead.torrent"), "-o", str(tmp_path / "out"), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout or []], daemon=True).start()
    status: list[str] = []
    try:
        deadline = time.monotonic() + 20
        while len(status) < 2 and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if "peers, ETA" in line and "no tracker reachable" in line:
                status.append(line)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    # Said in the status line, and kept saying (two status lines in a row name it).
    assert len(status) == 2, status
    assert url in status[-1] and "refused" in status[-1], status


def test_a_trackers_trouble_is_told_once_until_it_changes(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 9: every failed retry of a dead tracker printed its `tracker:` line again, on top of
    the status line that keeps saying it; now each URL's message is told when it changes."""
    from bittern.cli.transfer import EventTeller

    def failure(url: str, message: str) -> Any:
        return types.SimpleNamespace(kind="tracker_error", url=url, message=message)

    a, b = "http://a.example/announce", "http://b.example/announce"
    batches = [
        [failure(a, "cannot reach tracker: refused"), failure(b, "timed out")],
        [failure(a, "cannot reach tracker: refused")],
        [failure(a, "tracker answered HTTP 502"), failure(b, "timed out")],
    ]
    session = types.SimpleNamespace(events=lambda timeout: batches.pop(0) if batches else [])
    teller = EventTeller(session)  # type: ignore[arg-type]
    for _ in range(3):
        teller.drain()
    told = [line for line in capsys.readouterr().out.splitlines() if line.startswith("tracker:")]
    assert told == [
        f"tracker: {a}: cannot reach tracker: refused",
        f"tracker: {b}: timed out",
        f"tracker: {a}: tracker answered HTTP 502",
    ]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_tracker_udp_options(bittern_script: str) -> None:
    # UDP on the HTTP port by default; --udp-bind moves it; --no-udp turns it off.
    tracker = TrackerProcess(bittern_script)
    try:
        assert tracker.udp_url == tracker.url.replace("http://", "udp://")
    finally:
        tracker.kill()
    tracker = TrackerProcess(bittern_script, "--udp-bind", "127.0.0.1:0")
    try:
        assert tracker.udp_url is not None and tracker.udp_url != tracker.url.replace("http://", "udp://")
    finally:
        tracker.kill()
    tracker = TrackerProcess(bittern_script, "--no-udp")
    try:
        stdout, stderr, _ = tracker.stop(signal.SIGINT)
    finally:
        tracker.kill()
    assert "udp://" not in stdout, stdout
    both = run(bittern_script, "tracker", "--no-udp", "--udp-bind", "127.0.0.1:0")
    assert both.returncode != 0 and "--no-udp" in both.stderr
