using System.Text.RegularExpressions;
using Aica.Config;
using Aica.IO;
using Aica.Native;
using Aica.Tests.Infra;

namespace Aica.Tests.Fleet;

/// <summary>Issue 14 point 1: registry writes from several nodes (shared OFD lock, generation, whole files, ESTALE).</summary>
[Trait("level", "unit")]
public sealed class SharedRegistrySpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("aica-reg-").FullName;

    public void Dispose() => Directory.Delete(_root, true);

    [Fact]
    public void Two_lock_holders_in_one_process_exclude_each_other_and_the_wait_names_host_pid_and_time()
    {
        using var fs = new RootedFs(_root);
        var first = new RegistryStore(fs);
        var second = new RegistryStore(fs); // another open file description: conflicts like another node would
        var held = first.Lock(TimeSpan.FromSeconds(1));
        var e = Assert.Throws<AicaException>(() => second.Lock(TimeSpan.FromMilliseconds(50)));
        Assert.Equal(ExitCodes.LockBusy, e.ExitCode);
        Assert.Matches(new Regex($@"held by {Regex.Escape(Sys.HostName())} pid {Sys.Pid} since \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ"), e.Message);
        Assert.Contains("/data/config/.users.txt.lock", e.Message);
        // Re-entrant within one store (user add holds it around the registry write); released when the outer hold ends.
        using (first.Lock(TimeSpan.Zero)) { }
        Assert.Throws<AicaException>(() => second.Lock(TimeSpan.Zero));
        held.Dispose();
        held.Dispose(); // idempotent
        using (second.Lock(TimeSpan.Zero)) { }
    }

    [Fact]
    public void Each_write_raises_the_generation_in_a_comment_line_older_parsers_skip()
    {
        using var fs = new RootedFs(_root);
        var store = new RegistryStore(fs);
        Directory.CreateDirectory(Path.Combine(_root, "data/config"));
        File.WriteAllText(Path.Combine(_root, "data/config/users.txt"), "# my registry\nalice:gpu-users:3001:3001:/bin/bash:symlink\n");
        Assert.Equal(0, store.Load().Generation);
        store.Update(r => r.Upsert(new UserEntry("bob", "gpu-users", 3002, 3002, "/bin/bash", "symlink")), TimeSpan.FromSeconds(1));
        store.Update(r => r.Upsert(new UserEntry("carol", "gpu-users", 3003, 3003, "/bin/bash", "hybrid")), TimeSpan.FromSeconds(1));
        store.Update(r => r.Upsert(new UserEntry("carol", "gpu-users", 3003, 3003, "/bin/bash", "hybrid")), TimeSpan.FromSeconds(1)); // no change: no write
        var text = File.ReadAllText(Path.Combine(_root, "data/config/users.txt"));
        Assert.Equal("# generation 2\n# my registry\nalice:gpu-users:3001:3001:/bin/bash:symlink\nbob:gpu-users:3002:3002:/bin/bash:symlink\ncarol:gpu-users:3003:3003:/bin/bash:hybrid\n", text);
        var r = Registry.Parse(text);
        Assert.Equal(2, r.Generation);
        Assert.Equal(2, Registry.GenerationOf(text));
        Assert.Empty(r.Problems);
        Assert.Equal(["alice", "bob", "carol"], r.Users.Select(u => u.Name));
        // SPEC §4's format as the bash tool reads it: comments skipped, so the header is invisible to it.
        Assert.DoesNotContain(text.Split('\n'), l => l.Length > 0 && !l.StartsWith('#') && l.Split(':').Length is not (2 or 6));
    }

    [Fact]
    public void A_read_that_hits_a_stale_NFS_handle_is_tried_again_and_gives_the_whole_file()
    {
        using var fs = new RootedFs(_root);
        Directory.CreateDirectory(Path.Combine(_root, "data/config"));
        File.WriteAllText(Path.Combine(_root, "data/config/users.txt"), "# generation 7\nalice:gpu-users:3001:3001:/bin/bash:symlink\n");
        var faults = 3;
        var store = new RegistryStore(fs, p => faults-- > 0 ? throw new SysException(Flags.ESTALE, "read", p) : fs.ReadFile(p));
        var reg = store.Load();
        Assert.Equal(7, reg.Generation);
        Assert.Equal(["alice"], reg.Users.Select(u => u.Name));
        Assert.Equal(-1, faults);

        // A handle that stays stale is an error after a few tries, never an empty registry (that would look like "no users").
        var broken = new RegistryStore(fs, p => throw new SysException(Flags.ESTALE, "read", p));
        Assert.Equal(Flags.ESTALE, Assert.Throws<SysException>(() => broken.Load()).Errno);
        // Other errors are not retried.
        var calls = 0;
        var eio = new RegistryStore(fs, p => { calls++; throw new SysException(Flags.EIO, "read", p); });
        Assert.Throws<SysException>(() => eio.Load());
        Assert.Equal(1, calls);
    }

    [Fact]
    public void A_hand_edit_saved_while_a_writer_works_is_kept_and_the_generation_still_rises()
    {
        using var fs = new RootedFs(_root);
        var path = Path.Combine(_root, "data/config/users.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "# generation 4\nalice:gpu-users:3001:3001:/bin/bash:symlink\n");
        var edited = false;
        var store = new RegistryStore(fs, p =>
        {
            var bytes = fs.ReadFile(p);
            if (!edited)
            {
                // The admin's editor saves (write to a temp file, rename) right after aica read the file, without the lock.
                edited = true;
                File.WriteAllText(path + ".swp", "# generation 4\nalice:gpu-users:3001:3001:/bin/zsh:symlink\n");
                File.Move(path + ".swp", path, true);
            }
            return bytes;
        });
        store.Update(r => r.Upsert(new UserEntry("bob", "gpu-users", 3002, 3002, "/bin/bash", "symlink")), TimeSpan.FromSeconds(1));
        Assert.Equal("# generation 5\nalice:gpu-users:3001:3001:/bin/zsh:symlink\nbob:gpu-users:3002:3002:/bin/bash:symlink\n", File.ReadAllText(path));
    }
}
