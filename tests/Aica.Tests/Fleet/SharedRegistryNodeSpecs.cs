using System.Diagnostics;
using Aica.Config;
using Aica.Tests.Infra;

namespace Aica.Tests.Fleet;

/// <summary>
/// Issue 14 point 1 end to end: several "nodes" (each its own /etc, /home and /run under --root, each in its own mount
/// namespace) share one /data, and write the registry at the same time.
/// </summary>
[Trait("level", "blackbox")]
public sealed class SharedRegistryNodeSpecs
{
    /// <summary>Runs aica as node <paramref name="node"/>: its own root, with the shared /data bound in its own mount namespace.</summary>
    private static ProcessStartInfo Node(Sandbox shared, Sandbox node, params string[] args)
    {
        var psi = new ProcessStartInfo("unshare") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["-m", "--propagation", "private", "sh", "-c", "mount --bind \"$1\" \"$2/data\" && shift 2 && exec \"$@\"", "node",
                     shared.P("/data"), node.Root, Tools.AicaBin, "--root", node.Root, .. args])
            psi.ArgumentList.Add(a);
        return psi;
    }

    private static RunResult Run(ProcessStartInfo psi)
    {
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return new RunResult(p.ExitCode, output, err.Result);
    }

    [Fact]
    public async Task Parallel_user_adds_from_several_nodes_all_land_with_one_generation_each_and_no_reader_sees_a_torn_file()
    {
        Require.Root();
        const int n = 5;
        using var shared = new Sandbox();
        var nodes = Enumerable.Range(0, n).Select(_ => new Sandbox(mountData: false)).ToList();
        try
        {
            foreach (var node in nodes)
            {
                var r = Run(Node(shared, node, "init", "--gid", "2500"));
                Assert.True(r.ExitCode == 0, r.ToString());
            }
            var users = shared.P("/data/config/users.txt");
            var before = Registry.Parse(File.ReadAllText(users)).Generation;

            using var done = new CancellationTokenSource();
            var torn = new List<string>();
            var reads = 0;
            var reader = Task.Run(() =>
            {
                long last = before;
                while (!done.IsCancellationRequested)
                {
                    var text = File.ReadAllText(users);
                    reads++;
                    var reg = Registry.Parse(text);
                    if (!text.EndsWith('\n') || reg.Problems.Count > 0 || reg.Generation < last) torn.Add(text);
                    last = reg.Generation;
                }
            });
            // No --uid: each node picks a free one, and only the shared lock keeps two of them from picking the same.
            var adds = nodes.Select((node, i) => Task.Run(() => Run(Node(shared, node, "--wait", "120", "user", "add", $"u{i}")))).ToArray();
            var results = await Task.WhenAll(adds);
            await done.CancelAsync();
            await reader;
            foreach (var a in results) Assert.True(a.ExitCode == 0, a.ToString());

            var final = Registry.Parse(File.ReadAllText(users));
            Assert.Equal(Enumerable.Range(0, n).Select(i => $"u{i}").Order(), final.Users.Select(u => u.Name).Order());
            Assert.Equal(n, final.Users.Select(u => u.Uid).Distinct().Count());
            Assert.Equal(before + n, final.Generation);
            Assert.True(torn.Count == 0, $"{torn.Count} torn reads of {reads}:\n{torn.FirstOrDefault()}");
            Assert.True(reads > 0);
        }
        finally
        {
            foreach (var node in nodes) node.Dispose();
        }
    }

    [Fact]
    public void A_writer_killed_while_holding_the_shared_lock_frees_it_and_the_waiter_was_told_who_held_it()
    {
        using var sb = Sandbox.Initialised();
        // Another node's writer: holds the lock (fcntl, which conflicts with aica's OFD lock) and has written its line.
        var psi = new ProcessStartInfo("python3", ["-c",
            "import fcntl,sys,os; f=open(sys.argv[1],'r+'); fcntl.lockf(f, fcntl.LOCK_EX); f.truncate(0); f.write('node7 pid 4242 since 2026-12-03T10:00:00Z\\n'); f.flush(); print('locked', flush=True); sys.stdin.read()",
            sb.P("/data/config/.users.txt.lock")]) { RedirectStandardInput = true, RedirectStandardOutput = true };
        if (!File.Exists(sb.P("/data/config/.users.txt.lock"))) File.WriteAllText(sb.P("/data/config/.users.txt.lock"), "");
        using var holder = Process.Start(psi)!;
        try
        {
            Assert.Equal("locked", holder.StandardOutput.ReadLine());
            var busy = sb.Aica("--wait", "1", "user", "add", "alice");
            Assert.True(busy.ExitCode == 4, busy.ToString());
            Assert.Contains("held by node7 pid 4242 since 2026-12-03T10:00:00Z", busy.StdErr);
            Assert.DoesNotContain("alice", File.ReadAllText(sb.P("/data/config/users.txt")));
        }
        finally { holder.Kill(); holder.WaitForExit(); } // SIGKILL: the kernel drops its lock
        var r = sb.Aica("--wait", "5", "user", "add", "alice");
        Assert.True(r.ExitCode == 0, r.ToString());
        var reg = Registry.Parse(File.ReadAllText(sb.P("/data/config/users.txt")));
        Assert.Equal(["alice"], reg.Users.Select(u => u.Name));
        Assert.Empty(reg.Problems);
        Assert.Equal(1, reg.Generation);
    }
}
