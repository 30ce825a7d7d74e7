using Aica.IO;
using Aica.Native;
using Aica.Tests.Infra;

namespace Aica.Tests.Foundation;

/// <summary>
/// Issue 11 point 6: commands started together right after a reset (an empty /run) never fail because another one made
/// a runtime directory first (EEXIST); the loser of the lock waits (--wait) or exits 4.
/// </summary>
public sealed class FirstBootRaceSpecs
{
    [Trait("level", "sim")]
    [Fact]
    public void Concurrent_recover_and_user_add_right_after_a_reset_never_fail_with_file_exists()
    {
        Require.Root();
        using var server = new SimServer();
        var setup = server.Boot(Reset.None, "$AICA init --gid 2500 && /data/bin/aica user add alice");
        Assert.True(setup.ExitCode == 0, setup.ToString());
        const int rounds = 4, perRound = 10;
        for (var round = 0; round < rounds; round++)
        {
            // Each boot has an empty /run (tmpfs): no /run/aica, no lock file. After a full reset /etc is the image's too,
            // so only recover runs then (user add needs the group back first); after a home reset half of them add users.
            var full = round % 2 == 0;
            // Every process waits at a barrier (two FIFOs: each says "ready", then one write releases all), so they reach
            // mkdir /run/aica together; no sleeps, a bounded count. --wait 0 for every third: its loser exits 4.
            var script = $$"""
                mkdir /run/race && cd /run/race && mkfifo ready go
                exec 3<>ready 4<>go
                for i in $(seq {{perRound}}); do
                  if {{(full ? "true" : "[ $((i % 2)) -eq 0 ]")}}; then cmd="recover"; else cmd="user add r{{round}}u$i"; fi
                  wait=$(( i % 3 == 0 ? 0 : 120 ))
                  ( printf x >&3; dd bs=1 count=1 status=none <&4 >/dev/null; exec 3>&- 4<&-
                    /data/bin/aica --wait $wait $cmd >out.$i 2>&1; echo $? >rc.$i ) &
                done
                dd bs=1 count={{perRound}} status=none <&3 >/dev/null
                printf '%{{perRound}}s' '' >&4
                wait
                for i in $(seq {{perRound}}); do echo "$i $(cat rc.$i) $(tr '\n' ' ' <out.$i)"; done
                stat -c 'run/aica %U:%G %a %F' /run/aica
                """;
            var r = server.Boot(full ? Reset.Full : Reset.Home, script, timeoutSeconds: 300);
            Assert.True(r.ExitCode == 0, r.ToString());
            var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(perRound + 1, lines.Length);
            foreach (var line in lines[..^1])
            {
                var rc = line.Split(' ')[1];
                Assert.True(rc is "0" or "4", $"round {round}: {line}");
                Assert.DoesNotContain("file exists", line);
            }
            Assert.Contains(lines, l => l.Split(' ')[1] == "0");
            Assert.Equal("run/aica root:root 755 directory", lines[^1]);
        }
    }
}

public sealed class EnsureDirRaceSpecs
{
    [Trait("level", "unit")]
    [Fact]
    public void Threads_making_the_same_fresh_directories_together_never_see_file_exists()
    {
        Require.Root();
        var root = Directory.CreateTempSubdirectory("aica-mk-").FullName;
        try
        {
            using var fs = new RootedFs(root);
            const int threads = 8, rounds = 200;
            var errors = new System.Collections.Concurrent.ConcurrentBag<string>();
            // The same threads meet at a barrier before each round, then all make the same fresh path at once.
            using var barrier = new Barrier(threads);
            var ts = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
            {
                for (var round = 0; round < rounds; round++)
                {
                    barrier.SignalAndWait();
                    try { fs.EnsureParents($"/r{round}/aica/x/aica.lock"); }
                    catch (Exception e) { errors.Add(e.Message); }
                }
            })).ToList();
            ts.ForEach(t => t.Start());
            ts.ForEach(t => t.Join());
            Assert.Empty(errors);
        }
        finally { Directory.Delete(root, true); }
    }

    [Trait("level", "unit")]
    [Fact]
    public void A_directory_made_by_another_process_first_is_used_only_when_it_is_a_real_directory_of_the_right_owner()
    {
        Require.Root();
        var root = Directory.CreateTempSubdirectory("aica-mk-").FullName;
        try
        {
            using var fs = new RootedFs(root);
            // What a loser of the race finds: mkdir says EEXIST, and what is there decides.
            Assert.True(fs.EnsureDir("/mine", Perms.O(755), 0, 0));
            Assert.False(fs.EnsureDir("/mine", Perms.O(755), 0, 0));
            Assert.Equal(Perms.O(755), fs.Lstat("/mine")!.Value.Perm);
            File.CreateSymbolicLink(Path.Combine(root, "link"), "/etc");
            Assert.Equal(Flags.ELOOP, Assert.Throws<SysException>(() => fs.EnsureDir("/link", Perms.O(755), 0, 0)).Errno);
            Assert.Equal(Flags.ELOOP, Assert.Throws<SysException>(() => fs.EnsureParents("/link/aica/aica.lock")).Errno);
            File.WriteAllText(Path.Combine(root, "file"), "");
            Assert.Equal(Flags.ENOTDIR, Assert.Throws<SysException>(() => fs.EnsureDir("/file", Perms.O(755), 0, 0)).Errno);
            Directory.CreateDirectory(Path.Combine(root, "theirs"));
            Tools.Sh($"chown 1234:1234 '{root}/theirs'");
            Assert.Equal(Flags.EPERM, Assert.Throws<SysException>(() => fs.EnsureDir("/theirs", Perms.O(755), 0, 0)).Errno);
            Assert.Equal("/etc", new FileInfo(Path.Combine(root, "link")).LinkTarget); // nothing followed or changed
        }
        finally { Directory.Delete(root, true); }
    }
}
