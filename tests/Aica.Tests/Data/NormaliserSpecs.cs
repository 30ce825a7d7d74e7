using System.Net.Sockets;
using Aica.Data;
using Aica.IO;
using Aica.Native;
using Aica.Tests.Infra;
using static Aica.Native.Perms;

namespace Aica.Tests.Data;

/// <summary>The reusable normaliser on real trees (SPEC §3 modes, §6.1–2 link safety), in-process, as root.</summary>
[Trait("level", "unit")]
public sealed class NormaliserSpecs : IDisposable
{
    private const uint G = 2500, Member = 3001, Stranger = 4444;
    private readonly string _dir = Directory.CreateTempSubdirectory("aica-norm-").FullName;
    private readonly RootedFs _fs;

    public NormaliserSpecs()
    {
        Require.Root();
        Directory.CreateDirectory(H("/tree"));
        Directory.CreateDirectory(H("/outside"));
        File.WriteAllText(H("/outside/secret"), "secret");
        Tools.Sh($"chmod 700 '{H("/outside")}'; chmod 600 '{H("/outside/secret")}'");
        _fs = new RootedFs(_dir);
    }

    public void Dispose()
    {
        _fs?.Dispose();
        Tools.Sh($"rm -rf --one-file-system '{_dir}'");
    }

    private string H(string p) => _dir + p;
    private static NormalisePolicy Policy => new(G, new HashSet<uint> { Member });
    private NormaliseResult Run(bool dryRun = false, TreeNormaliser? n = null) => (n ?? new TreeNormaliser(Policy)).Run(_fs, "/tree", dryRun, TestContext.Current.CancellationToken);

    /// <summary>"mode gid" of every entry plus its ctime (a change of any kind moves the ctime).</summary>
    private string Snapshot(string hostPath) => Tools.Sh($"find '{hostPath}' -printf '%C@ %m %u %g %y %p\\0' | sort -z | tr '\\0' '\\n'").StdOut;

    [Theory]
    [InlineData(644, 664)]
    [InlineData(600, 660)]
    [InlineData(755, 775)]
    [InlineData(700, 770)]
    [InlineData(640, 660)]
    [InlineData(444, 464)]
    public void Files_get_group_read_write_and_keep_execute_bits_rwX(int from, int to) =>
        Assert.Equal(O(to), NormalisePolicy.FileMode(O(from)));

    [Theory]
    [InlineData(755, 2775)]
    [InlineData(700, 2770)]
    [InlineData(1777, 3777)]
    public void Directories_get_group_rwx_and_setgid(int from, int to) => Assert.Equal(O(to), NormalisePolicy.DirMode(O(from)));

    [Theory]
    [InlineData(0, 0, 755, true)]
    [InlineData(0, 0, 2775, true)]     // group-writable, but group root has no member but root
    [InlineData(0, 2500, 2775, false)] // the shared group: members could swap entries
    [InlineData(0, 0, 757, false)]
    [InlineData(3001, 0, 755, false)]  // a member's own directory: its owner can do anything in it
    public void Entries_are_changed_by_name_only_in_directories_only_root_can_write(uint uid, uint gid, int mode, bool closed)
    {
        var policy = Policy with { RootOnlyGids = new HashSet<uint> { 0 } };
        var st = new FileStat(Flags.S_IFDIR | O(mode), uid, gid, 2, 1, 1, 0, 0, 0, 0, 0, 0);
        Assert.Equal(closed, policy.OnlyRootWrites(st));
    }

    [Fact]
    public void A_generated_tree_is_normalised_and_a_second_run_changes_nothing()
    {
        var made = new TreeFaker(42).Build(H("/tree"), dirs: 40, filesPerDir: 5, uids: [0, Member, Stranger], gids: [0, Member, 999]);
        var r = Run();
        Assert.Equal(0, r.Errors);
        Assert.True(r.Changed > 0);
        foreach (var p in made.Paths.Append(H("/tree")))
        {
            var st = Sys.LstatAt(Flags.AT_FDCWD, Sys.Z(p), p)!.Value;
            Assert.Equal(G, st.Gid);
            if (st.IsDir) Assert.Equal(O(2070), st.Perm & O(2070));
            else
            {
                Assert.Equal(O(60), st.Perm & O(60));
                Assert.Equal((st.Perm & O(100)) != 0, (st.Perm & O(10)) != 0); // rwX: group x exactly when owner x
            }
        }
        var before = Snapshot(H("/tree"));
        var again = Run();
        Assert.Equal(0, again.Changed);
        Assert.Equal(r.Scanned, again.Scanned);
        Assert.Equal(before, Snapshot(H("/tree"))); // steady state is read-only: not even a ctime moved
    }

    [Fact]
    public void Dry_run_changes_nothing_and_counts_what_would_change()
    {
        new TreeFaker(7).Build(H("/tree"), dirs: 10, filesPerDir: 3, uids: [0, Member], gids: [0]);
        var before = Snapshot(H("/tree"));
        var plan = Run(dryRun: true);
        Assert.Equal(before, Snapshot(H("/tree")));
        var done = Run();
        Assert.Equal(plan.Changed, done.Changed);
    }

    [Fact]
    public void Links_fifos_sockets_and_foreign_hard_links_are_left_alone_and_nothing_outside_changes()
    {
        Directory.CreateDirectory(H("/config"));
        File.WriteAllText(H("/config/aica.toml"), "x");
        Tools.Sh($"chmod 644 '{H("/config/aica.toml")}'");
        File.WriteAllText(H("/outside/members"), "m");
        File.WriteAllText(H("/outside/strangers"), "s");
        Tools.Sh($"chown {Member}:{Member} '{H("/outside/members")}'; chown {Stranger}:{Stranger} '{H("/outside/strangers")}'; chmod 600 '{H("/outside/members")}' '{H("/outside/strangers")}'");
        Directory.CreateDirectory(H("/tree/ds"));
        File.CreateSymbolicLink(H("/tree/ds/etc"), "/etc");
        File.CreateSymbolicLink(H("/tree/ds/escape"), H("/outside"));
        Tools.Sh($"mkfifo '{H("/tree/ds/fifo")}'; ln '{H("/config/aica.toml")}' '{H("/tree/ds/config-link")}'; ln '{H("/outside/members")}' '{H("/tree/ds/conda-pkg")}'; ln '{H("/outside/strangers")}' '{H("/tree/ds/upload")}'");
        using var sock = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified); // .NET unlinks it on dispose
        sock.Bind(new UnixDomainSocketEndPoint(H("/tree/ds/sock")));
        var outside = Snapshot(H("/outside")) + Snapshot(H("/config")) + Tools.Sh("stat -c '%a %g %Z' /etc").StdOut;
        var special = Tools.Sh($"stat -c '%a %g' '{H("/tree/ds/fifo")}' '{H("/tree/ds/sock")}'").StdOut;

        var r = Run();

        Assert.Equal(2, r.SkippedLinks);
        Assert.Equal(2, r.Special); // FIFO and socket
        Assert.Equal(2, r.Kept); // root-owned and stranger-owned hard links
        Assert.Contains(r.Events, e => e.Kind == NormaliseEvent.KeptHardLink && e.Path == "/tree/ds/config-link");
        Assert.Contains(r.Events, e => e.Kind == NormaliseEvent.KeptHardLink && e.Path == "/tree/ds/upload");
        Assert.Equal(special, Tools.Sh($"stat -c '%a %g' '{H("/tree/ds/fifo")}' '{H("/tree/ds/sock")}'").StdOut);
        // The member's hard-linked file (conda's package cache) is normalised as usual; it is the only change outside.
        Assert.Equal($"660 {G}", Tools.Sh($"stat -c '%a %g' '{H("/outside/members")}'").StdOut.Trim());
        Assert.Equal(Strip(outside), Strip(Snapshot(H("/outside")) + Snapshot(H("/config")) + Tools.Sh("stat -c '%a %g %Z' /etc").StdOut));
    }

    // The member's file was changed on purpose (checked above); everything else outside must be byte-for-byte as it was.
    private static string Strip(string snapshot) => string.Join('\n', snapshot.Split('\n').Where(l => !l.Contains("/outside/members")));

    [Fact]
    public void A_directory_swapped_for_a_link_during_the_walk_is_not_followed()
    {
        foreach (var d in new[] { "a", "b" })
        {
            Directory.CreateDirectory(H($"/tree/{d}"));
            File.WriteAllText(H($"/tree/{d}/f"), d);
            Tools.Sh($"chmod 600 '{H($"/tree/{d}/f")}'");
        }
        Directory.CreateDirectory(H("/tree/c"));
        var outside = Snapshot(H("/outside"));
        var swapped = new List<string>();
        // Single-threaded, so both siblings are listed before either is opened: the first one visited swaps the
        // other for a link to /outside in the window between listing and open. The root's visit swaps c before
        // it is even listed.
        var n = new TreeNormaliser(Policy, new TreeWalker(1))
        {
            AfterDirectory = path =>
            {
                string? victim = path switch { "/tree" => "c", "/tree/a" => "b", "/tree/b" => "a", _ => null };
                if (victim is null || swapped.Contains(victim)) return;
                Directory.Move(H($"/tree/{victim}"), H($"/tree/{victim}.moved"));
                File.CreateSymbolicLink(H($"/tree/{victim}"), H("/outside"));
                swapped.Add(victim);
            },
        };
        var r = Run(n: n);
        Assert.Equal(2, swapped.Count);
        Assert.Equal(outside, Snapshot(H("/outside")));
        Assert.Equal("600", Tools.Sh($"stat -c %a '{H("/outside/secret")}'").StdOut.Trim());
        Assert.True(r.SkippedLinks >= 1); // c was seen as a link
    }

    [Fact]
    public void A_file_swapped_for_a_hard_link_to_an_outside_file_between_look_and_change_is_left_alone()
    {
        // A directory members can write (group G, g+w): there the change goes through a re-opened, re-checked inode.
        Directory.CreateDirectory(H("/tree/open"));
        File.WriteAllText(H("/tree/open/f"), "mine");
        Tools.Sh($"chown 0:{G} '{H("/tree/open")}'; chmod 2775 '{H("/tree/open")}'; chown {Member}:{Member} '{H("/tree/open/f")}'; chmod 600 '{H("/tree/open/f")}'");
        var n = new TreeNormaliser(Policy)
        {
            BeforeChange = path =>
            {
                if (path != "/tree/open/f") return;
                File.Delete(H("/tree/open/f"));
                Assert.Equal(0, Tools.Sh($"ln '{H("/outside/secret")}' '{H("/tree/open/f")}'").ExitCode); // what a member's race would do
            },
        };
        var r = Run(n: n);
        Assert.Contains(r.Events, e => e.Kind == NormaliseEvent.Raced && e.Path == "/tree/open/f");
        // Linking changed its ctime; owner, group and mode are what matter.
        Assert.Equal("600 0 0", Tools.Sh($"stat -c '%a %u %g' '{H("/outside/secret")}'").StdOut.Trim());
    }

    [Fact]
    public void Per_file_errors_are_counted_and_the_walk_goes_on()
    {
        Directory.CreateDirectory(H("/tree/ro"));
        Directory.CreateDirectory(H("/tree/rw"));
        File.WriteAllText(H("/tree/ro/f"), "x");
        File.WriteAllText(H("/tree/rw/f"), "x");
        Tools.Sh($"chmod 600 '{H("/tree/ro/f")}' '{H("/tree/rw/f")}'");
        // A read-only bind mount of a subdirectory keeps the device number: the walk enters it and every change fails.
        var m = Tools.Sh($"mount --bind '{H("/tree/ro")}' '{H("/tree/ro")}' && mount -o remount,bind,ro '{H("/tree/ro")}'");
        Assert.Equal(0, m.ExitCode);
        try
        {
            var r = Run();
            Assert.True(r.Errors >= 1);
            Assert.Contains(r.Events, e => e.Kind == NormaliseEvent.Error && e.Path.StartsWith("/tree/ro") && e.Detail.Contains("read-only"));
            Assert.Equal("660", Tools.Sh($"stat -c %a '{H("/tree/rw/f")}'").StdOut.Trim());
        }
        finally { Tools.Sh($"umount '{H("/tree/ro")}'"); }
    }
}
