using Aica.Site;
using System.Diagnostics;
using Aica.Engine;
using Aica.Services;
using Aica.Tests.Infra;

namespace Aica.Tests.Fleet;

/// <summary>
/// issue 14 point 5 (Slurm): aica health drains on a node-wide FAIL with an "aica:" reason, resumes only its own drains,
/// never touches an operator's, and answers within its deadline. Slurm's scontrol is a stand-in script
/// (scontrol-standin.sh) that records its calls and keeps the node's state and reason like slurmctld.
/// </summary>
[Trait("level", "unit")]
public sealed class SlurmHealthSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("aica-slurm-").FullName;
    private readonly ManualResetEventSlim _release = new();
    private string Calls => Path.Combine(_dir, "calls");

    public SlurmHealthSpecs()
    {
        File.Copy(StandIn, Path.Combine(_dir, "scontrol"));
        File.SetUnixFileMode(Path.Combine(_dir, "scontrol"), (UnixFileMode)0b111_101_101);
        SetNode("IDLE", null);
    }

    public void Dispose()
    {
        _release.Set();
        Directory.Delete(_dir, true);
    }

    public static string StandIn => Path.Combine(Tools.RepoRoot, "tests/Aica.Tests/Fleet/scontrol-standin.sh");

    private void SetNode(string state, string? reason) =>
        File.WriteAllText(Path.Combine(_dir, "node"), $"NodeName=gpu1 Arch=x86_64\n   State={state} ThreadsPerCore=2\n" + (reason is null ? "" : $"   Reason={reason}\n"));

    private string Node => File.ReadAllText(Path.Combine(_dir, "node"));
    private string[] Updates => File.Exists(Calls) ? File.ReadAllLines(Calls).Where(l => l.StartsWith("update", StringComparison.Ordinal)).ToArray() : [];

    private sealed class StandInRunner(string dir) : ProcessRunner
    {
        public override string? Which(string program) => program == "scontrol" ? Path.Combine(dir, "scontrol") : base.Which(program);
    }

    private static DoctorReport Report(params CheckResult[] checks) =>
        new("test", "gpu1", [new CheckResult("data.mounted", CheckStatus.Pass, "mounted"), .. checks]);

    private HealthResult Health(Func<DoctorReport> checks, int deadlineSeconds = 10, bool drain = true)
    {
        using var s = new AicaServices(new GlobalOptions(Root: _dir), new StandInRunner(_dir));
        return new HealthService(s, checks).Run("gpu1", TimeSpan.FromSeconds(deadlineSeconds), drain);
    }

    private static readonly CheckResult Unmounted = new("data.mounted", CheckStatus.Fail, "/data is not a mounted file system");

    [Fact]
    public void A_node_wide_fail_drains_with_an_aica_reason_and_a_healthy_run_resumes_it()
    {
        var bad = Health(() => Report(Unmounted));
        Assert.Equal((false, 1), (bad.Healthy, bad.ExitCode));
        Assert.Equal("aica: data.mounted: /data is not a mounted file system", bad.Line);
        Assert.Equal(["update|nodename=gpu1|state=drain|reason=aica: data.mounted: /data is not a mounted file system"], Updates);
        Assert.Contains("State=IDLE+DRAIN", Node);
        Assert.Equal("drained gpu1", bad.Action);

        // Still failing for the same reason: no second update (slurmctld would log each one).
        Health(() => Report(Unmounted));
        Assert.Single(Updates);

        var good = Health(() => Report());
        Assert.Equal((true, 0), (good.Healthy, good.ExitCode));
        Assert.StartsWith("ok: 1 checks", good.Line);
        Assert.Equal("update|nodename=gpu1|state=resume", Updates[^1]);
        Assert.Contains("State=IDLE ", Node);
        Assert.DoesNotContain("Reason=", Node);
    }

    [Fact]
    public void An_operators_drain_is_never_resumed_nor_overwritten()
    {
        SetNode("MIXED+DRAIN", "replacing GPU 3 [ops@2026-12-01T09:00:00]");
        var good = Health(() => Report());
        Assert.True(good.Healthy);
        Assert.Contains("left drained: its reason is not aica's (replacing GPU 3", good.Action);
        var bad = Health(() => Report(Unmounted));
        Assert.False(bad.Healthy);
        Assert.Contains("already drained by someone else", bad.Action);
        Assert.Empty(Updates);
        Assert.Contains("Reason=replacing GPU 3", Node);
    }

    [Fact]
    public void One_users_problem_is_reported_but_never_drains_the_node()
    {
        var r = Health(() => Report(new CheckResult("user.account:alice", CheckStatus.Fail, "uid 3001 is taken by a local account"),
            new CheckResult("home.dotfile:/home/bob/.bashrc", CheckStatus.Fail, "missing")));
        Assert.True(r.Healthy);
        Assert.Contains("2 user problem(s) (aica doctor)", r.Line);
        Assert.Empty(Updates);
    }

    [Fact]
    public void Checks_that_hang_give_a_verdict_and_a_drain_within_the_deadline()
    {
        var sw = Stopwatch.StartNew();
        var r = Health(() => { _release.Wait(); return Report(); }, deadlineSeconds: 2);
        // 1.4 s for the checks, the rest for scontrol; a loaded test machine gets one second of slack.
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3), $"took {sw.Elapsed}");
        Assert.False(r.Healthy);
        Assert.Equal("aica: checks did not finish in 1.4s (a hung /data mount?)", r.Line);
        Assert.Equal("drained gpu1", r.Action);
    }

    [Fact]
    public void No_drain_only_reports_and_a_long_reason_is_one_bounded_line()
    {
        var r = Health(() => Report(new CheckResult("path.safe", CheckStatus.Fail, "line one\nline two " + new string('x', 300))), drain: false);
        Assert.False(r.Healthy);
        Assert.Equal("not changed (--no-drain)", r.Action);
        Assert.Equal(HealthService.MaxReason, r.Line.Length);
        Assert.DoesNotContain('\n', r.Line);
        Assert.EndsWith("...", r.Line);
        Assert.Empty(Updates);
    }

    [Fact]
    public void Scontrol_show_node_output_is_parsed_for_state_and_reason()
    {
        Assert.Equal(("IDLE+DRAIN", "aica: x [root@t]"), HealthService.ParseNode("NodeName=a\n   State=IDLE+DRAIN ThreadsPerCore=1\n   Reason=aica: x [root@t]\n"));
        Assert.Equal(("ALLOCATED", null), HealthService.ParseNode("NodeName=a State=ALLOCATED\n"));
    }
}

/// <summary>The static binary as Slurm runs it (root, no arguments but the node), on a simulated server whose scontrol is the stand-in.</summary>
[Trait("level", "sim")]
public sealed class SlurmHealthSimSpecs
{
    [Fact]
    public void Health_drains_on_an_unsafe_binary_path_and_resumes_after_the_fix()
    {
        Require.Root();
        var standIn = Directory.CreateTempSubdirectory("aica-scontrol-").FullName;
        try
        {
            File.Copy(SlurmHealthSpecs.StandIn, Path.Combine(standIn, "scontrol-standin.sh"));
            using var sim = new SimServer();
            var r = sim.Boot(Reset.None, $"""
                $AICA init --gid 2000 >/dev/null 2>&1 || echo "init failed"
                $AICA recover >/dev/null 2>&1
                install -m 755 '{standIn}/scontrol-standin.sh' /usr/local/sbin/scontrol
                printf 'NodeName=node1 Arch=x86_64\n   State=IDLE ThreadsPerCore=2\n' > /usr/local/sbin/node
                /data/bin/aica health --node node1 2>/dev/null; echo "healthy-rc=$?"
                chmod 777 /data/bin
                /data/bin/aica health --node node1 2>/dev/null; echo "broken-rc=$?"
                grep Reason= /usr/local/sbin/node
                chmod 755 /data/bin
                /data/bin/aica health --node node1 2>&1; echo "fixed-rc=$?"
                echo "calls:"; cat /usr/local/sbin/calls
                """);
            TestContext.Current.TestOutputHelper?.WriteLine(r.All);
            Assert.Contains("healthy-rc=0", r.StdOut);
            Assert.Contains("broken-rc=1", r.StdOut);
            Assert.Matches(@"\naica: tree\.dir:/data/bin: /data/bin: mode 0777, want 0755 \(\+1 more\)\nbroken-rc=1", r.StdOut);
            Assert.Matches(@"Reason=aica: tree\.dir:/data/bin: .* \[root@", r.StdOut);
            Assert.Contains("aica health: resumed node1 (aica had drained it)", r.StdOut);
            Assert.Contains("fixed-rc=0", r.StdOut);
            var calls = r.StdOut[(r.StdOut.IndexOf("calls:", StringComparison.Ordinal) + 7)..].Trim().Split('\n');
            Assert.Equal(["show|node|node1", "show|node|node1", "update|nodename=node1|state=drain|reason=", "show|node|node1", "update|nodename=node1|state=resume"],
                calls.Select(c => c.StartsWith("update|nodename=node1|state=drain|reason=aica: tree.dir:/data/bin:", StringComparison.Ordinal) ? "update|nodename=node1|state=drain|reason=" : c));
        }
        finally
        {
            Directory.Delete(standIn, true);
        }
    }
}
