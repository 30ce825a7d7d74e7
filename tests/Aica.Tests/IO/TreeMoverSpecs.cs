using Aica.IO;
using Aica.Native;
using Aica.Tests.Infra;

namespace Aica.Tests.IO;

/// <summary>
/// The one mover (IO/TreeMover) in process, over a sandbox whose /data is one tmpfs and /data/other a second, small one:
/// a move between them is a real cross-file-system move. Every failure leaves the source as it was and no partial copy.
/// </summary>
public sealed class TreeMoverSpecs : IDisposable
{
    private readonly Sandbox _sb;
    private readonly List<string> _mounts = [];

    public TreeMoverSpecs()
    {
        Require.Root();
        _sb = new Sandbox();
        Directory.CreateDirectory(_sb.P("/data/src"));
    }

    public void Dispose()
    {
        foreach (var m in Enumerable.Reverse(_mounts)) Tools.Sh($"umount -l '{m}'");
        _sb.Dispose();
    }

    /// <summary>Another file system at /data/other (host-side tmpfs, unmounted at the end).</summary>
    private void Other(string options = "size=16m")
    {
        var path = _sb.P("/data/other");
        Directory.CreateDirectory(path);
        Assert.Equal(0, Tools.Sh($"mount -t tmpfs -o {options},mode=0700 aica-test-mover '{path}'").ExitCode);
        _mounts.Add(path);
    }

    /// <summary>Every entry below a host folder with size, owner, mode and link count: what "untouched" compares.</summary>
    private string Tree(string path) =>
        Tools.Sh($"cd '{_sb.P(path)}' && find . -printf '%s %u:%g %m %n %y %p %l\\n' | sort").StdOut;

    private void Sample()
    {
        var d = _sb.P("/data/src/tree");
        Tools.Sh($"mkdir -p '{d}/a/b' && printf one > '{d}/a/one.txt' && head -c 20000 /dev/urandom > '{d}/a/b/blob' && ln -s ../one.txt '{d}/a/b/link'"
            + $" && chown -R 1000:2500 '{d}' && chmod 2750 '{d}/a'");
    }

    [Trait("level", "unit")]
    [Fact]
    public void A_move_on_the_same_file_system_is_a_rename()
    {
        Sample();
        var ino = Tools.Sh($"stat -c %i '{_sb.P("/data/src/tree/a/b/blob")}'").StdOut;
        using var fs = new RootedFs(_sb.Root);
        Assert.Equal(MoveMethod.Rename, new TreeMover(fs).Move("/data/src/tree", "/data/moved"));
        Assert.Equal(ino, Tools.Sh($"stat -c %i '{_sb.P("/data/moved/a/b/blob")}'").StdOut);
        Assert.Equal(MoveMethod.Absent, new TreeMover(fs).Move("/data/src/tree", "/data/again"));
    }

    [Trait("level", "unit")]
    [Fact]
    public void A_move_across_file_systems_copies_verifies_and_removes_the_source_keeping_owners_modes_links_and_hard_links()
    {
        Sample();
        var d = _sb.P("/data/src/tree");
        // One file under two names (uv, conda): it must stay one file on the other side.
        Tools.Sh($"mkdir -p '{d}/pkgs' '{d}/env/lib' && head -c 50000 /dev/urandom > '{d}/pkgs/torch.so' && ln '{d}/pkgs/torch.so' '{d}/env/lib/torch.so' && chown -R 1000:2500 '{d}/pkgs' '{d}/env'");
        var before = Tree("/data/src/tree");
        Other();
        using var fs = new RootedFs(_sb.Root);
        var mover = new TreeMover(fs);
        Assert.Equal(MoveMethod.Copy, mover.Move("/data/src/tree", "/data/other/tree"));
        Assert.False(Directory.Exists(d));
        Assert.Equal(before, Tree("/data/other/tree"));
        Assert.Equal("1", Tools.Sh($"stat -c %i '{_sb.P("/data/other/tree/pkgs/torch.so")}' '{_sb.P("/data/other/tree/env/lib/torch.so")}' | sort -u | wc -l").StdOut.Trim());
        Assert.Empty(mover.Notes);
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Extended_attributes_go_with_a_move_across_file_systems()
    {
        Sample();
        Tools.Run("python3", ["-c", "import os,sys\nfor p in sys.argv[1:]: os.setxattr(p, 'user.sha256', b'abc123')", _sb.P("/data/src/tree/a"), _sb.P("/data/src/tree/a/b/blob")]);
        Other();
        using var fs = new RootedFs(_sb.Root);
        new TreeMover(fs).Move("/data/src/tree", "/data/other/tree");
        string Xattr(string p) => Tools.Run("python3", ["-c", "import os,sys\nprint(os.getxattr(sys.argv[1], 'user.sha256').decode())", _sb.P(p)]).StdOut.Trim();
        Assert.Equal("abc123", Xattr("/data/other/tree/a"));
        Assert.Equal("abc123", Xattr("/data/other/tree/a/b/blob"));
    }

    [Trait("level", "unit")]
    [Fact]
    public void A_target_without_room_refuses_before_anything_is_made()
    {
        Sample();
        Tools.Sh($"head -c 3000000 /dev/urandom > '{_sb.P("/data/src/tree/big")}'");
        var before = Tree("/data/src/tree");
        Other("size=1m");
        using var fs = new RootedFs(_sb.Root);
        var e = Assert.Throws<SysException>(() => new TreeMover(fs).Move("/data/src/tree", "/data/other/tree"));
        Assert.Equal(Flags.ENOSPC, e.Errno);
        Assert.Contains("needed", e.Message);
        Assert.Equal(before, Tree("/data/src/tree"));
        Assert.Empty(Directory.GetFileSystemEntries(_sb.P("/data/other")));
    }

    [Trait("level", "unit")]
    [Fact]
    public void A_copy_that_fails_in_the_middle_leaves_the_source_untouched_and_no_partial_copy()
    {
        Sample();
        for (var i = 0; i < 20; i++) File.WriteAllText(_sb.P($"/data/src/tree/f{i}"), $"file {i}");
        var before = Tree("/data/src/tree");
        // Plenty of bytes, few inodes: the space check passes and the copy runs out of inodes part way.
        Other("size=16m,nr_inodes=8");
        using var fs = new RootedFs(_sb.Root);
        var e = Assert.Throws<SysException>(() => new TreeMover(fs).Move("/data/src/tree", "/data/other/tree"));
        Assert.Equal(Flags.ENOSPC, e.Errno);
        Assert.Equal(before, Tree("/data/src/tree"));
        Assert.Empty(Directory.GetFileSystemEntries(_sb.P("/data/other")));
    }

    [Trait("level", "unit")]
    [Fact]
    public void A_cancelled_move_leaves_the_source_untouched_and_no_partial_copy()
    {
        Sample();
        var before = Tree("/data/src/tree");
        Other();
        using var fs = new RootedFs(_sb.Root);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => new TreeMover(fs).Move("/data/src/tree", "/data/other/tree", cts.Token));
        Assert.Equal(before, Tree("/data/src/tree"));
        Assert.Empty(Directory.GetFileSystemEntries(_sb.P("/data/other")));
    }

    [Trait("level", "unit")]
    [Fact]
    public void A_folder_deeper_than_the_limit_refuses_the_move_before_anything_is_made()
    {
        Sample();
        var chain = string.Join("/", Enumerable.Repeat("d", TreeCopier.MaxDepth + 5));
        Directory.CreateDirectory(_sb.P("/data/src/tree/" + chain));
        var before = Tree("/data/src/tree");
        Other();
        using var fs = new RootedFs(_sb.Root);
        var mover = new TreeMover(fs);
        var e = Assert.Throws<SysException>(() => mover.Measure("/data/src/tree"));
        Assert.Equal(Flags.ENAMETOOLONG, e.Errno);
        e = Assert.Throws<SysException>(() => mover.Move("/data/src/tree", "/data/other/tree"));
        Assert.Equal(Flags.ENAMETOOLONG, e.Errno);
        Assert.Equal(before, Tree("/data/src/tree"));
        Assert.Empty(Directory.GetFileSystemEntries(_sb.P("/data/other")));
    }

    [Trait("level", "unit")]
    [Fact]
    public void A_move_or_copy_never_replaces_or_removes_what_is_already_at_the_target()
    {
        Sample();
        Other();
        File.WriteAllText(_sb.P("/data/other/tree"), "someone else's");
        using var fs = new RootedFs(_sb.Root);
        var e = Assert.Throws<SysException>(() => new TreeMover(fs).Move("/data/src/tree", "/data/other/tree"));
        Assert.Equal(Flags.EEXIST, e.Errno);
        Assert.Equal("someone else's", File.ReadAllText(_sb.P("/data/other/tree")));
        e = Assert.Throws<SysException>(() => new TreeMover(fs).Copy("/data/src/tree", "/data/other/tree"));
        Assert.Equal(Flags.EEXIST, e.Errno);
        Assert.Equal("someone else's", File.ReadAllText(_sb.P("/data/other/tree"))); // a failed copy removes only what it made
        Assert.True(Directory.Exists(_sb.P("/data/src/tree/a/b")));
    }

    [Trait("level", "unit")]
    [Fact]
    public void A_merge_copy_keeps_what_is_there_gives_the_group_and_leaves_out_what_it_is_told()
    {
        Sample();
        Tools.Sh($"mkdir -p '{_sb.P("/data/dst/tree/a")}' && printf mine > '{_sb.P("/data/dst/tree/a/one.txt")}'");
        using var fs = new RootedFs(_sb.Root);
        var copier = new TreeCopier(new CopyOptions { MergeExisting = true, Gid = 2600, LeaveOut = st => st.Size == 20000 });
        using (var src = fs.OpenDir("/data/src"))
        using (var dst = fs.OpenDir("/data/dst"))
            copier.Copy(src, Sys.Z("tree"), dst, "/data/src/tree");
        Assert.Equal("mine", File.ReadAllText(_sb.P("/data/dst/tree/a/one.txt"))); // kept, reported as a conflict
        Assert.Equal(1, copier.Conflicts);
        Assert.Equal(1, copier.LeftOut);
        Assert.False(File.Exists(_sb.P("/data/dst/tree/a/b/blob")));
        Assert.Equal("1000 2600", Tools.Sh($"stat -c '%u %g' '{_sb.P("/data/dst/tree/a/b")}'").StdOut.Trim());
    }
}
