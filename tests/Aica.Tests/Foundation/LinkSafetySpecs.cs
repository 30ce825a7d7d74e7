using Aica.Tests.Infra;
using System.Text;
using Aica.IO;
using Aica.Native;
using static Aica.Native.Perms;

namespace Aica.Tests.Foundation;

/// <summary>SPEC §6.1–2 and §6.4 on the file-system layer itself, with real links planted in a temp tree.</summary>
[Trait("level", "unit")]
public sealed class LinkSafetySpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("aica-fs-").FullName;
    private readonly string _outside = Directory.CreateTempSubdirectory("aica-outside-").FullName;
    private readonly RootedFs _fs;

    public LinkSafetySpecs()
    {
        Directory.CreateDirectory(Path.Combine(_root, "tree"));
        File.WriteAllText(Path.Combine(_outside, "victim"), "secret");
        File.SetUnixFileMode(Path.Combine(_outside, "victim"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _fs = new RootedFs(_root);
    }

    public void Dispose()
    {
        _fs.Dispose();
        Directory.Delete(_root, true);
        Directory.Delete(_outside, true);
    }

    private string H(string p) => _root + p;
    private UnixFileMode VictimMode => File.GetUnixFileMode(Path.Combine(_outside, "victim"));

    [Fact]
    public void A_link_in_the_middle_of_a_path_is_never_followed()
    {
        File.CreateSymbolicLink(H("/tree/sub"), _outside);
        var e = Assert.Throws<SysException>(() => _fs.OpenDir("/tree/sub"));
        Assert.Equal(Flags.ELOOP, e.Errno);
        Assert.Throws<SysException>(() => _fs.WriteAtomic("/tree/sub/victim", "pwned"u8, O(644)));
        Assert.Equal("secret", File.ReadAllText(Path.Combine(_outside, "victim")));
        Assert.Null(_fs.ReadFile("/tree/missing/file"));
    }

    [Fact]
    public void Atomic_write_replaces_a_planted_link_and_not_its_target()
    {
        Require.Root();
        File.CreateSymbolicLink(H("/tree/file"), Path.Combine(_outside, "victim"));
        _fs.WriteAtomic("/tree/file", "mine"u8, O(640));
        Assert.Equal("secret", File.ReadAllText(Path.Combine(_outside, "victim")));
        var st = _fs.Lstat("/tree/file")!.Value;
        Assert.True(st.IsFile);
        Assert.Equal(O(640), st.Perm);
        Assert.Equal("mine", File.ReadAllText(H("/tree/file")));
        Assert.Empty(Directory.GetFiles(H("/tree"), ".*.tmp"));
    }

    [Fact]
    public void A_temp_file_left_by_a_killed_writer_is_removed_by_the_next_write_and_a_live_writers_is_kept()
    {
        Require.Root();
        var dead = System.Diagnostics.Process.Start("true")!;
        dead.WaitForExit();
        File.WriteAllText(H($"/tree/.f.aica-{dead.Id}-1.tmp"), "half");
        File.WriteAllText(H("/tree/.f.aica-1-1.tmp"), "pid 1 is alive"); // not ours to remove
        File.WriteAllText(H($"/tree/.g.aica-{dead.Id}-1.tmp"), "another file's");
        _fs.WriteAtomic("/tree/f", "new"u8, O(644));
        Assert.Equal([".f.aica-1-1.tmp", $".g.aica-{dead.Id}-1.tmp", "f"], Directory.GetFiles(H("/tree")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Owner_and_mode_changes_never_reach_a_link_target()
    {
        Require.Root();
        File.CreateSymbolicLink(H("/tree/link"), Path.Combine(_outside, "victim"));
        _fs.SetOwnerMode("/tree/link", 1234, 1234, O(777));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, VictimMode);
        Assert.Equal(0u, Sys.LstatAt(Flags.AT_FDCWD, Sys.Z(Path.Combine(_outside, "victim")), "victim")!.Value.Uid);
        Assert.Equal(1234u, _fs.Lstat("/tree/link")!.Value.Uid); // the link itself was chowned
    }

    [Fact]
    public void Mkdir_sets_exact_modes_including_setgid_and_sticky_regardless_of_umask()
    {
        Require.Root();
        var old = Sys.Umask(O(77));
        try
        {
            _fs.Mkdir("/tree/shared", O(3775), 0, 0);
            Assert.Equal(O(3775), _fs.Lstat("/tree/shared")!.Value.Perm);
        }
        finally { Sys.Umask(old); }
    }

    [Fact]
    public void ChangeInode_refuses_an_entry_swapped_after_it_was_examined()
    {
        File.WriteAllText(H("/tree/f"), "x");
        using var dir = _fs.OpenDir("/tree");
        var seen = _fs.Lstat("/tree/f")!.Value;
        File.Delete(H("/tree/f"));
        File.CreateSymbolicLink(H("/tree/f"), Path.Combine(_outside, "victim")); // the race, made deterministic
        var r = SafeOps.ChangeInode(dir, Sys.Z("f"), seen, null, 1234, O(666), out _);
        Assert.Equal(SafeOps.Result.Raced, r);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, VictimMode);
    }

    [Fact]
    public void Walker_reports_links_and_never_enters_them()
    {
        Directory.CreateDirectory(H("/tree/a/b"));
        File.WriteAllText(H("/tree/a/b/f1"), "1");
        File.WriteAllText(H("/tree/a/f2"), "2");
        File.CreateSymbolicLink(H("/tree/a/escape"), _outside);
        File.CreateSymbolicLink(H("/tree/a/b/victim"), Path.Combine(_outside, "victim"));
        var v = new CountingVisitor();
        using var root = _fs.OpenDir("/tree");
        new TreeWalker(4).Walk(root, "/tree", v, TestContext.Current.CancellationToken);
        Assert.Equal(3, v.Dirs); // tree, a, b
        Assert.Equal(2, v.Files);
        Assert.Equal(2, v.Links);
        Assert.DoesNotContain(v.Paths, p => p.Contains("victim/") || p.EndsWith("/escape/victim"));
    }

    [Fact]
    public void Odd_names_are_shown_escaped()
    {
        Assert.Equal("a b", SafeOps.Escape("a b"u8));
        Assert.Equal("line\\nbreak", SafeOps.Escape("line\nbreak"u8));
        Assert.Equal("bad\\xff", SafeOps.Escape([(byte)'b', (byte)'a', (byte)'d', 0xff]));
        Assert.Equal("ü", SafeOps.Escape(Encoding.UTF8.GetBytes("ü")));
    }

    [Fact]
    public void Second_lock_holder_waits_then_gets_exit_4()
    {
        Require.Root();
        using var first = FileLock.Acquire(_fs, "/run/aica/aica.lock", TimeSpan.Zero, "aica");
        var e = Assert.Throws<AicaException>(() => FileLock.Acquire(_fs, "/run/aica/aica.lock", TimeSpan.FromMilliseconds(50), "aica"));
        Assert.Equal(ExitCodes.LockBusy, e.ExitCode);
        first.Dispose();
        using var again = FileLock.Acquire(_fs, "/run/aica/aica.lock", TimeSpan.Zero, "aica");
    }

    private sealed class CountingVisitor : IWalkVisitor
    {
        public int Dirs, Files, Links;
        public System.Collections.Concurrent.ConcurrentBag<string> Paths { get; } = [];
        public bool VisitDirectory(SafeFd dir, in FileStat stat, string path, int depth) { Interlocked.Increment(ref Dirs); Paths.Add(path); return true; }
        public void VisitEntry(in WalkEntry e)
        {
            Paths.Add(e.Path);
            if (e.Stat.IsLink) Interlocked.Increment(ref Links); else Interlocked.Increment(ref Files);
        }
        public void OnError(string path, SysException error) => throw error;
    }
}
