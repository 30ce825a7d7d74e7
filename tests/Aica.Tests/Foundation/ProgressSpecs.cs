using Aica.Site;
using Aica.Cli;
using Aica.IO;
using Aica.Tests.Infra;

namespace Aica.Tests.Foundation;

/// <summary>The progress line: rate-limited redraw, its text, erased at the end; quiet off a terminal.</summary>
public sealed class ProgressSpecs
{
    private const string Erase = "\r\e[K";

    private sealed class FakeClock
    {
        public TimeSpan Now { get; set; }
        public void Advance(double ms) => Now += TimeSpan.FromMilliseconds(ms);
    }

    private static (TerminalProgress P, StringWriter W, FakeClock C) Make(int columns = 200)
    {
        var w = new StringWriter();
        var c = new FakeClock();
        return (new TerminalProgress(w, () => c.Now, () => columns), w, c);
    }

    private static int Draws(string s) => s.Split(Erase).Length - 1;

    [Trait("level", "unit")]
    [Fact]
    public void Quick_work_draws_nothing_and_leaves_nothing_behind()
    {
        var (p, w, c) = Make();
        p.Begin("perms /data/cache");
        c.Advance(50);
        p.Advance(1000, 4096);
        p.End();
        Assert.Equal("", w.ToString());
    }

    [Trait("level", "unit")]
    [Fact]
    public void Redraws_at_most_ten_times_a_second_however_often_work_is_reported()
    {
        var (p, w, c) = Make();
        p.Begin("du /data");
        for (var i = 0; i < 2000; i++) // two seconds of updates every millisecond
        {
            c.Advance(1);
            p.Advance(10, 100);
        }
        var draws = Draws(w.ToString());
        Assert.InRange(draws, 19, 20);
        p.End();
        Assert.EndsWith(Erase, w.ToString()); // the last line is erased: the command's output starts clean
        Assert.Equal(draws + 1, Draws(w.ToString()));
    }

    [Trait("level", "unit")]
    [Fact]
    public void The_line_shows_entries_bytes_and_rate_and_with_a_total_the_share_and_eta()
    {
        var (p, w, c) = Make();
        p.Begin("user fix alice");
        c.Advance(2000);
        p.Advance(5000, 3L << 30);
        Assert.EndsWith("user fix alice: 5,000 entries, 3.0 GiB, 2,500/s", w.ToString());

        p.Begin("data mirror /opt/old", total: 1000);
        c.Advance(10_000);
        p.Advance(250);
        c.Advance(100);
        p.Note("imagenet/train/n01440764/a.JPEG");
        // 250 in 10.1 s: 25/s, 750 left: 30 s
        Assert.EndsWith("data mirror /opt/old: 250/1,000 entries, 25/s (25%), ETA 0:30  imagenet/train/n01440764/a.JPEG", w.ToString());
    }

    [Trait("level", "unit")]
    [Fact]
    public void A_line_longer_than_the_terminal_is_cut_so_it_never_wraps()
    {
        var (p, w, c) = Make(columns: 40);
        p.Begin("data mirror /opt/ai-lab-data/shared", total: 10);
        c.Advance(500);
        p.Note("a/very/long/path/name/that/goes/on/and/on\e]0;title\a");
        var line = w.ToString().Split(Erase)[^1];
        Assert.Equal(39, line.Length);
        Assert.EndsWith("…", line);
        Assert.DoesNotContain('\e', line); // a file name cannot smuggle control sequences onto the terminal
    }

    [Trait("level", "unit")]
    [Fact]
    public void Off_a_terminal_or_with_quiet_the_reporter_is_silent()
    {
        Assert.Same(NoProgress.Instance, TerminalProgress.For(new Site.GlobalOptions(), new StringWriter()));
        Assert.Same(NoProgress.Instance, TerminalProgress.For(new Site.GlobalOptions { Quiet = true }, Terminal.Err));
    }

    private sealed class Recorder : IProgressReporter
    {
        public long Items, Bytes;
        public void Begin(string label, long? total = null, string unit = "entries") { }
        public void Advance(long items = 1, long bytes = 0) { Interlocked.Add(ref Items, items); Interlocked.Add(ref Bytes, bytes); }
        public void Note(string line) { }
        public void End() { }
    }

    private sealed class NullVisitor : IWalkVisitor
    {
        public bool VisitDirectory(Native.SafeFd dir, in Native.FileStat stat, string path, int depth) => true;
        public void VisitEntry(in WalkEntry entry) { }
        public void OnError(string path, Native.SysException error) { }
    }

    [Trait("level", "inproc")]
    [Fact]
    public void A_tree_walk_reports_every_entry_and_the_bytes_of_its_files()
    {
        var dir = Directory.CreateTempSubdirectory("aica-progress-").FullName;
        try
        {
            for (var d = 0; d < 3; d++)
            {
                Directory.CreateDirectory($"{dir}/d{d}");
                for (var f = 0; f < 700; f++) File.WriteAllBytes($"{dir}/d{d}/f{f}", new byte[d + 1]);
            }
            var rec = new Recorder();
            using var fs = new RootedFs("/");
            using var root = fs.OpenDir(dir);
            new TreeWalker(4) { Progress = rec }.Walk(root, dir, new NullVisitor());
            Assert.Equal(3 + 3 * 700, rec.Items);
            Assert.Equal(700 * (1 + 2 + 3), rec.Bytes);
        }
        finally { Directory.Delete(dir, true); }
    }
}

/// <summary>A child's output reaches the caller line by line while the child still runs (rsync's list in data mirror).</summary>
public sealed class StreamingRunnerSpecs
{
    [Trait("level", "inproc")]
    [Fact]
    public async Task Each_line_arrives_while_the_child_is_still_running()
    {
        var dir = Directory.CreateTempSubdirectory("aica-stream-").FullName;
        try
        {
            // The child prints a line, then waits until the caller answers through a FIFO: buffered until exit, the
            // first line would never arrive, the child never end, and the timeout would fail the test.
            var fifo = Path.Combine(dir, "answer");
            Assert.Equal(0, Tools.Sh($"mkfifo '{fifo}'").ExitCode);
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            cts.CancelAfter(TimeSpan.FromSeconds(30));
            var lines = new List<string>();
            var r = await new ProcessRunner().RunStreamingAsync("/bin/sh", ["-c", $"echo first; cat '{fifo}'; echo last"], line =>
            {
                lines.Add(line);
                if (line == "first") File.WriteAllText(fifo, "answer\n");
            }, cts.Token);
            Assert.Equal(0, r.ExitCode);
            Assert.Equal(["first", "answer", "last"], lines);
            Assert.Equal("first\nanswer\nlast\n", r.StdOut);
        }
        finally { Directory.Delete(dir, true); }
    }
}
