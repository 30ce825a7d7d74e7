using System.Text.Json;
using Aica.Tests.Infra;

namespace Aica.Tests.Data;

/// <summary>aica data list|orphans|mirror|verify|report, black-box on a sandbox server (dist/aica --root, tmpfs /data).</summary>
public sealed class DataSpecs : IDisposable
{
    private readonly Sandbox _sb = Sandbox.WithUsers("alice", "bob");
    private readonly List<string> _mounts = [];

    public void Dispose()
    {
        foreach (var m in Enumerable.Reverse(_mounts)) Tools.Sh($"umount -l '{m}'");
        _sb.Dispose();
    }

    private void Mount(string path, string options)
    {
        Directory.CreateDirectory(path);
        var r = Tools.Sh($"mount -t tmpfs -o {options} aica-test-extra '{path}'");
        Assert.Equal(0, r.ExitCode);
        _mounts.Add(path);
    }

    private void SetConfig(string from, string to)
    {
        var p = _sb.P("/data/config/aica.toml");
        var text = File.ReadAllText(p);
        Assert.Contains(from, text);
        File.WriteAllText(p, text.Replace(from, to));
    }

    private static JsonElement Json(RunResult r) => JsonDocument.Parse(r.StdOut).RootElement;

    /// <summary>
    /// <c>data mirror --json</c> fails (exit 1) with the first configured mirror refused because <paramref name="writable"/>
    /// is writable by non-root users, and nothing copied to <paramref name="notCopied"/>; returns the mirrors.
    /// </summary>
    private JsonElement MirrorRefusingTheFirst(string writable, string notCopied)
    {
        var r = _sb.Aica("--json", "data", "mirror");
        Assert.Equal(1, r.ExitCode);
        var ms = Json(r).GetProperty("mirrors");
        Assert.Equal("refused", ms[0].GetProperty("state").GetString());
        Assert.Contains($"{writable} is writable by non-root users", ms[0].GetProperty("summary").GetString());
        Assert.False(Directory.Exists(_sb.P(notCopied)));
        return ms;
    }

    // ---- list ----

    [Trait("level", "blackbox")]
    [Fact]
    public void List_gives_the_spec_json_shape_with_du_sizes_and_who_can_read()
    {
        new TreeFaker(5).Build(_sb.P("/data/dataset/Benchmark"), 12, 4, [0, 3001], [2500], oddNames: false);
        Tools.Sh($"mkdir -p '{_sb.P("/data/dataset/TestDataset")}' && printf 'thirteen byte' > '{_sb.P("/data/dataset/TestDataset/t.txt")}' && chgrp -R 2500 '{_sb.P("/data/dataset/TestDataset")}'");
        Tools.Sh($"mkdir -p '{_sb.P("/data/dataset/sdfdsf")}' && chown 1001:1001 '{_sb.P("/data/dataset/sdfdsf")}' && chmod 700 '{_sb.P("/data/dataset/sdfdsf")}'");
        File.CreateSymbolicLink(_sb.P("/data/dataset/not-a-dataset"), "/etc");
        var r = _sb.Aica("--json", "data", "list");
        Assert.Equal(0, r.ExitCode);
        var doc = Json(r);
        Assert.Equal(3, doc.GetProperty("count").GetInt32());
        var sets = doc.GetProperty("datasets").EnumerateArray().ToDictionary(d => d.GetProperty("name").GetString()!);
        Assert.Equal(["Benchmark", "TestDataset", "sdfdsf"], sets.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, d) in sets)
        {
            var du = long.Parse(Tools.Sh($"du -sb '{_sb.P($"/data/dataset/{name}")}' | cut -f1").StdOut.Trim());
            Assert.Equal(du, d.GetProperty("size_bytes").GetInt64());
            Assert.False(string.IsNullOrEmpty(d.GetProperty("size_human").GetString()));
        }
        Assert.Equal(1, sets["TestDataset"].GetProperty("files").GetInt64());
        Assert.True(sets["TestDataset"].GetProperty("members_can_read").GetBoolean());
        Assert.False(sets["sdfdsf"].GetProperty("members_can_read").GetBoolean());
        Assert.Equal("1001", sets["sdfdsf"].GetProperty("owner").GetString());
        Assert.Equal("2700", sets["sdfdsf"].GetProperty("mode").GetString());
        Assert.Equal(1, Json(_sb.Aica("--json", "data", "list", "TestDataset")).GetProperty("count").GetInt32());
        var human = _sb.Aica("data", "list");
        Assert.Contains("[WARN] sdfdsf", human.StdErr);
        Assert.Contains("data list: 3 datasets", human.StdOut);
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void List_shows_odd_dataset_names_escaped()
    {
        Directory.CreateDirectory(_sb.P("/data/dataset/with space"));
        Directory.CreateDirectory(_sb.P("/data/dataset/new\nline"));
        TreeFaker.MakeNonUtf8(_sb.P("/data/dataset"), "dir");
        var r = _sb.Aica("--json", "data", "list");
        Assert.Equal(0, r.ExitCode);
        var names = Json(r).GetProperty("datasets").EnumerateArray().Select(d => d.GetProperty("name").GetString()).ToList();
        Assert.Contains("with space", names);
        Assert.Contains("new\\nline", names);
        Assert.Contains("bad\\xffname", names);
    }

    // ---- orphans ----

    private void MakeOrphans()
    {
        Tools.Sh($"mkdir -p '{_sb.P("/data/users/alice")}' '{_sb.P("/data/users/ghost/sub")}' '{_sb.P("/data/users/test-user@example.com")}'");
        File.WriteAllText(_sb.P("/data/users/ghost/sub/model.bin"), new string('m', 5000));
        File.WriteAllText(_sb.P("/data/users/test-user@example.com/notes"), "n");
        File.CreateSymbolicLink(_sb.P("/data/users/ghost/etc"), "/etc");
        Tools.Sh($"chown -R 3999:3999 '{_sb.P("/data/users/ghost")}'; mkfifo '{_sb.P("/data/users/ghost/fifo")}'");
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Orphans_are_found_and_remove_needs_yes()
    {
        MakeOrphans();
        var r = _sb.Aica("--json", "data", "orphans");
        Assert.Equal(0, r.ExitCode);
        var names = Json(r).GetProperty("orphans").EnumerateArray().Select(o => o.GetProperty("name").GetString()).ToList();
        Assert.Equal(["ghost", "test-user@example.com"], names);
        var refused = _sb.Aica("data", "orphans", "--remove");
        Assert.Equal(2, refused.ExitCode);
        Assert.True(Directory.Exists(_sb.P("/data/users/ghost")));
        var dry = _sb.Aica("data", "orphans", "--remove", "--dry-run");
        Assert.Equal(0, dry.ExitCode);
        Assert.Contains("[PLAN]", dry.StdOut);
        Assert.True(Directory.Exists(_sb.P("/data/users/ghost")));
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Data_of_an_account_whose_name_aica_would_not_create_is_not_an_orphan()
    {
        // Accounts made by useradd, LDAP or sssd may have names aica refuses to create (a dot, user@domain): still theirs.
        Assert.Equal(0, Tools.Sh($"useradd -P '{_sb.Root}' -u 4001 -M john.doe").ExitCode);
        Directory.CreateDirectory(_sb.P("/data/users/john.doe"));
        File.WriteAllText(_sb.P("/data/users/john.doe/thesis.tex"), "chapter 1\n");
        Directory.CreateDirectory(_sb.P("/data/users/ghost"));

        var r = _sb.Aica("--json", "data", "orphans", "--remove", "--yes");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(["ghost"], Json(r).GetProperty("orphans").EnumerateArray().Select(o => o.GetProperty("name").GetString()));
        Assert.Equal("chapter 1\n", File.ReadAllText(_sb.P("/data/users/john.doe/thesis.tex")));
        Assert.DoesNotContain("john.doe", _sb.Aica("doctor").StdOut.Split('\n').Where(l => l.Contains("users.orphans")).FirstOrDefault() ?? "");
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Orphans_with_odd_names_are_shown_escaped_and_moved_with_their_exact_names()
    {
        Directory.CreateDirectory(_sb.P("/data/users/old user"));
        Directory.CreateDirectory(_sb.P("/data/users/new\nline"));
        TreeFaker.MakeNonUtf8(_sb.P("/data/users"), "dir");
        var r = _sb.Aica("--json", "data", "orphans", "--remove", "--yes");
        Assert.Equal(0, r.ExitCode);
        var doc = Json(r);
        Assert.Equal(["bad\\xffname", "new\\nline", "old user"], doc.GetProperty("orphans").EnumerateArray().Select(o => o.GetProperty("name").GetString()).Order(StringComparer.Ordinal));
        var backup = _sb.P(doc.GetProperty("backup").GetString()!);
        Assert.Equal("", Tools.Sh($"ls -A '{_sb.P("/data/users")}'").StdOut);
        Assert.Equal(1, int.Parse(Tools.Sh($"ls -A '{backup}' | grep -c \"$(printf 'bad\\377name')\"").StdOut.Trim()));
        Assert.True(Directory.Exists(Path.Combine(backup, "new\nline")));
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Remove_on_the_same_file_system_is_a_rename_with_a_manifest()
    {
        MakeOrphans();
        var ino = Tools.Sh($"stat -c %i '{_sb.P("/data/users/ghost/sub/model.bin")}'").StdOut;
        var r = _sb.Aica("--json", "data", "orphans", "--remove", "--yes");
        Assert.Equal(0, r.ExitCode);
        var backup = Json(r).GetProperty("backup").GetString()!;
        Assert.Matches(@"^/data/admin/backups/orphaned_\d{8}_\d{6}$", backup);
        Assert.False(Directory.Exists(_sb.P("/data/users/ghost")));
        Assert.True(Directory.Exists(_sb.P("/data/users/alice")));
        Assert.Equal(ino, Tools.Sh($"stat -c %i '{_sb.P(backup + "/ghost/sub/model.bin")}'").StdOut);
        Assert.Contains("moved\t/data/users/ghost", File.ReadAllText(_sb.P(backup + "/MANIFEST.txt")));
        Assert.Contains("orphans: moved /data/users/ghost", File.ReadAllText(_sb.P("/data/admin/log/aica.log")));
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Remove_to_another_file_system_copies_verifies_then_deletes()
    {
        MakeOrphans();
        Mount(_sb.P("/data/admin/backups"), "size=16m,mode=0750");
        var r = _sb.Aica("data", "orphans", "--remove", "--yes");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("(copy+verify+delete)", r.StdOut);
        Assert.Contains("FIFO not copied", r.StdOut);
        var backup = Directory.GetDirectories(_sb.P("/data/admin/backups")).Single();
        Assert.Equal(new string('m', 5000), File.ReadAllText(Path.Combine(backup, "ghost/sub/model.bin")));
        Assert.Equal("/etc", new FileInfo(Path.Combine(backup, "ghost/etc")).LinkTarget);
        Assert.Equal("3999 3999", Tools.Sh($"stat -c '%u %g' '{backup}/ghost/sub/model.bin'").StdOut.Trim());
        Assert.False(Directory.Exists(_sb.P("/data/users/ghost")));
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void An_orphan_with_a_file_system_mounted_inside_is_kept_whole_and_the_mount_untouched()
    {
        MakeOrphans();
        Mount(_sb.P("/data/admin/backups"), "size=16m,mode=0750");
        Mount(_sb.P("/data/users/ghost/scratch"), "size=4m");
        File.WriteAllText(_sb.P("/data/users/ghost/scratch/other-disk.txt"), "not ours to delete");
        string Ghost() => Tools.Sh($"cd '{_sb.P("/data/users/ghost")}' && find . -printf '%s %u %m %p\\n' | sort").StdOut;
        var before = Ghost();
        var r = _sb.Aica("data", "orphans", "--remove", "--yes");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("another file system is mounted here", r.StdOut + r.StdErr);
        Assert.Equal(before, Ghost());
        Assert.Equal("not ours to delete", File.ReadAllText(_sb.P("/data/users/ghost/scratch/other-disk.txt")));
        Assert.Equal("", Tools.Sh($"find '{_sb.P("/data/admin/backups")}' -name other-disk.txt").StdOut);
    }

    [Trait("level", "unit")]
    [Fact]
    public void Removing_a_tree_never_enters_a_file_system_mounted_inside_it()
    {
        var top = _sb.P("/data/admin/tree");
        Directory.CreateDirectory(top + "/a/b");
        File.WriteAllText(top + "/a/file", "x");
        Mount(top + "/a/b", "size=4m");
        File.WriteAllText(top + "/a/b/keep.txt", "kept");
        using var fs = new Aica.IO.RootedFs(_sb.Root);
        var e = Assert.Throws<Aica.Native.SysException>(() => new Aica.IO.TreeMover(fs).Remove("/data/admin/tree"));
        Assert.Equal(Aica.Native.Flags.EXDEV, e.Errno);
        Assert.Equal("kept", File.ReadAllText(top + "/a/b/keep.txt"));
    }

    [Trait("level", "unit")]
    [Fact]
    public void A_folder_chain_deeper_than_the_limit_stops_copy_and_removal_with_an_error_instead_of_a_crash()
    {
        var top = _sb.P("/data/admin/deep");
        var chain = string.Join("/", Enumerable.Repeat("d", Aica.IO.TreeCopier.MaxDepth + 20));
        Directory.CreateDirectory(Path.Combine(top, chain));
        File.WriteAllText(Path.Combine(top, chain, "bottom.txt"), "still here");
        using var fs = new Aica.IO.RootedFs(_sb.Root);
        var tree = new Aica.IO.TreeMover(fs);
        var copy = Assert.Throws<Aica.Native.SysException>(() => tree.Copy("/data/admin/deep", "/data/admin/deep-copy"));
        Assert.Equal(Aica.Native.Flags.ENAMETOOLONG, copy.Errno);
        var remove = Assert.Throws<Aica.Native.SysException>(() => tree.Remove("/data/admin/deep"));
        Assert.Contains("levels deep", remove.Message);
        using (var admin = fs.OpenDir("/data/admin"))
        using (var backups = fs.OpenDir("/data/admin/backups"))
            Assert.Throws<Aica.Native.SysException>(() => new Aica.IO.TreeCopier().Copy(admin, Aica.Native.Sys.Z("deep"), backups, "deep"));
        Assert.Equal("still here", File.ReadAllText(Path.Combine(top, chain, "bottom.txt")));
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void A_copy_that_fails_half_way_is_removed_and_the_original_kept()
    {
        MakeOrphans();
        // Plenty of bytes but only a few inodes: the space check passes, the copy of ghost runs out of room part way.
        Mount(_sb.P("/data/admin/backups"), "size=16m,nr_inodes=4,mode=0750");
        string Ghost() => Tools.Sh($"cd '{_sb.P("/data/users/ghost")}' && find . -printf '%s %u %m %p\\n' | sort").StdOut;
        var before = Ghost();
        var r = _sb.Aica("data", "orphans", "--remove", "--yes");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("/data/users/ghost", r.StdOut);
        Assert.Contains("the original was not touched", r.All);
        Assert.Equal(before, Ghost());
        Assert.Empty(Directory.GetDirectories(_sb.P("/data/admin/backups"), "ghost", SearchOption.AllDirectories)); // the partial copy is gone
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void A_full_backup_target_removes_nothing_and_exits_1()
    {
        MakeOrphans();
        Mount(_sb.P("/data/admin/backups"), "size=64k,mode=0750");
        Tools.Sh($"dd if=/dev/zero of='{_sb.P("/data/admin/backups/filler")}' bs=4k count=100 2>/dev/null");
        var before = Tools.Sh($"cd '{_sb.P("/data/users")}' && find . -printf '%s %p\\n' | sort").StdOut;
        var r = _sb.Aica("data", "orphans", "--remove", "--yes");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("full", r.StdOut + r.StdErr);
        Assert.Equal(before, Tools.Sh($"cd '{_sb.P("/data/users")}' && find . -printf '%s %p\\n' | sort").StdOut);
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void A_read_only_backup_target_removes_nothing_and_exits_1()
    {
        MakeOrphans();
        Mount(_sb.P("/data/admin/backups"), "size=16m,mode=0750,ro");
        var before = Tools.Sh($"cd '{_sb.P("/data/users")}' && find . -printf '%s %p\\n' | sort").StdOut;
        var r = _sb.Aica("data", "orphans", "--remove", "--yes");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("read-only", r.StdErr);
        Assert.Contains("nothing was removed", r.StdErr);
        Assert.Equal(before, Tools.Sh($"cd '{_sb.P("/data/users")}' && find . -printf '%s %p\\n' | sort").StdOut);
    }

    // ---- mirror ----

    [Trait("level", "blackbox")]
    [Fact]
    public void Mirror_keeps_a_root_owned_legacy_path_in_step_without_making_it_member_writable()
    {
        Tools.Sh($"mkdir -p '{_sb.P("/data/dataset/Benchmark")}' '{_sb.P("/opt/ai-lab-data/shared")}' && echo b > '{_sb.P("/data/dataset/Benchmark/b.csv")}' && echo old > '{_sb.P("/opt/ai-lab-data/shared/legacy-only.txt")}'");
        // A member's own setuid/setgid program in a dataset: copied root-owned with its bits it would run as root.
        Assert.Equal(0, Tools.Sh($"cp /bin/true '{_sb.P("/data/dataset/Benchmark/tool")}' && chown 3001:3001 '{_sb.P("/data/dataset/Benchmark/tool")}' && chmod 6755 '{_sb.P("/data/dataset/Benchmark/tool")}'").ExitCode);
        SetConfig("legacy_mirrors = []", "legacy_mirrors = [\"/opt/ai-lab-data/shared\"]");
        var dry = _sb.Aica("--json", "data", "mirror", "--dry-run");
        Assert.Equal(0, dry.ExitCode);
        var m = Json(dry).GetProperty("mirrors")[0];
        Assert.Equal("drift", m.GetProperty("state").GetString());
        Assert.Equal(1, m.GetProperty("extra").GetInt64());
        Assert.False(File.Exists(_sb.P("/opt/ai-lab-data/shared/Benchmark/b.csv")));

        var r = _sb.Aica("data", "mirror");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("b\n", File.ReadAllText(_sb.P("/opt/ai-lab-data/shared/Benchmark/b.csv")));
        Assert.True(File.Exists(_sb.P("/opt/ai-lab-data/shared/legacy-only.txt"))); // no --delete by default
        Assert.Equal("", Tools.Sh($"find '{_sb.P("/opt/ai-lab-data/shared")}' \\( ! -user root -o -perm /022 -o -perm /6000 \\) ! -type l -print").StdOut);
        Assert.True(File.Exists(_sb.P("/opt/ai-lab-data/shared/Benchmark/tool")));
        var again = _sb.Aica("--json", "data", "mirror");
        Assert.Equal(0, again.ExitCode);
        Assert.Equal("in_step", Json(again).GetProperty("mirrors")[0].GetProperty("state").GetString());
    }

    /// <summary>
    /// Issue 10 (child processes as root): written as root, rsync's sending side still reads the member-writable source
    /// as nobody with the shared group only, so a file (or a folder a member swaps for a link into a place) the group
    /// cannot read never reaches the mirror: root's rights are not lent to the read.
    /// </summary>
    [Trait("level", "blackbox")]
    [Fact]
    public void Mirror_as_root_reads_the_source_with_the_groups_rights_only()
    {
        Tools.Sh($"mkdir -p '{_sb.P("/data/dataset/Benchmark")}' '{_sb.P("/opt/ai-lab-data/shared")}' && echo b > '{_sb.P("/data/dataset/Benchmark/b.csv")}'");
        Assert.Equal(0, Tools.Sh($"""
            echo secret > '{_sb.P("/data/dataset/Benchmark/root-only.txt")}' && chmod 600 '{_sb.P("/data/dataset/Benchmark/root-only.txt")}'
            mkdir -m 700 '{_sb.P("/data/dataset/Benchmark/private")}' && echo key > '{_sb.P("/data/dataset/Benchmark/private/k")}'
            """).ExitCode);
        SetConfig("legacy_mirrors = []", "legacy_mirrors = [\"/opt/ai-lab-data/shared\"]");
        var r = _sb.Aica("--json", "data", "mirror");
        Assert.True(r.ExitCode == 1, r.ToString());
        var m = Json(r).GetProperty("mirrors")[0];
        Assert.Equal("failed", m.GetProperty("state").GetString());
        Assert.Contains("could not read some files", m.GetProperty("summary").GetString());
        Assert.Equal("b\n", File.ReadAllText(_sb.P("/opt/ai-lab-data/shared/Benchmark/b.csv")));
        Assert.False(File.Exists(_sb.P("/opt/ai-lab-data/shared/Benchmark/root-only.txt")));
        Assert.False(File.Exists(_sb.P("/opt/ai-lab-data/shared/Benchmark/private/k")));
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Mirror_keeps_what_it_replaces_or_deletes_in_the_legacy_path_in_a_backup()
    {
        // Containers still write to the old path: a file edited there, and one only there, must not just vanish.
        Tools.Sh($"mkdir -p '{_sb.P("/data/dataset/Benchmark")}' '{_sb.P("/opt/ai-lab-data/shared/Benchmark")}' '{_sb.P("/opt/mine/Benchmark")}' && chown 3001:3001 '{_sb.P("/opt/mine")}' '{_sb.P("/opt/mine/Benchmark")}'"
            + $" && echo b > '{_sb.P("/data/dataset/Benchmark/b.csv")}' && touch -d '2020-01-01' '{_sb.P("/data/dataset/Benchmark/b.csv")}'");
        foreach (var legacy in new[] { "/opt/ai-lab-data/shared", "/opt/mine" })
        {
            File.WriteAllText(_sb.P($"{legacy}/Benchmark/b.csv"), "edited in the old place\n");
            File.WriteAllText(_sb.P($"{legacy}/only-here.txt"), "written by a container\n");
        }
        Tools.Sh($"chown -R 3001:3001 '{_sb.P("/opt/mine")}'");
        SetConfig("legacy_mirrors = []", "legacy_mirrors = [\"/opt/ai-lab-data/shared\", \"/opt/mine\"]");
        SetConfig("mirror_delete = false", "mirror_delete = true");

        var r = _sb.Aica("--json", "data", "mirror");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.All(Json(r).GetProperty("mirrors").EnumerateArray(), m => Assert.Equal("synced", m.GetProperty("state").GetString()));
        foreach (var legacy in new[] { "/opt/ai-lab-data/shared", "/opt/mine" })
        {
            Assert.Equal("b\n", File.ReadAllText(_sb.P($"{legacy}/Benchmark/b.csv"))); // in step
            Assert.False(File.Exists(_sb.P($"{legacy}/only-here.txt"))); // --delete
        }
        // Everything replaced or deleted is still on the server, once per legacy path.
        string Found(string content) => Tools.Sh($"grep -rlx '{content}' '{_sb.P("/data")}' '{_sb.P("/opt")}' | wc -l").StdOut.Trim();
        Assert.Equal("2", Found("edited in the old place"));
        Assert.Equal("2", Found("written by a container"));
        var again = _sb.Aica("--json", "data", "mirror");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.All(Json(again).GetProperty("mirrors").EnumerateArray(), m => Assert.True(m.GetProperty("state").GetString() == "in_step", again.StdOut));
        Assert.Equal("2", Found("edited in the old place"));
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Mirror_refuses_a_root_owned_destination_members_can_write_and_writes_a_member_owned_one_as_its_owner()
    {
        Tools.Sh($"mkdir -p '{_sb.P("/data/dataset/Benchmark")}' '{_sb.P("/opt/old/shared/sub")}' '{_sb.P("/opt/mine")}' && echo b > '{_sb.P("/data/dataset/Benchmark/b.csv")}' && chmod 777 '{_sb.P("/opt/old/shared/sub")}' && chown 3001:3001 '{_sb.P("/opt/mine")}'");
        SetConfig("legacy_mirrors = []", "legacy_mirrors = [\"/opt/old/shared\", \"/opt/mine\"]");
        var ms = MirrorRefusingTheFirst("/opt/old/shared/sub", "/opt/old/shared/Benchmark");
        Assert.Equal("synced", ms[1].GetProperty("state").GetString());
        Assert.Equal("3001", Tools.Sh($"stat -c %u '{_sb.P("/opt/mine/Benchmark/b.csv")}'").StdOut.Trim());
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Mirror_refuses_a_root_owned_legacy_path_in_a_directory_members_can_write()
    {
        // A member could rename shared away and put a link to /etc in its place while rsync runs as root.
        Tools.Sh($"mkdir -p '{_sb.P("/data/dataset/Benchmark")}' '{_sb.P("/opt/open/shared")}' '{_sb.P("/opt/sticky/shared")}' && echo b > '{_sb.P("/data/dataset/Benchmark/b.csv")}' && chmod 777 '{_sb.P("/opt/open")}' && chmod 1777 '{_sb.P("/opt/sticky")}'");
        SetConfig("legacy_mirrors = []", "legacy_mirrors = [\"/opt/open/shared\", \"/opt/sticky/shared\"]");
        var ms = MirrorRefusingTheFirst("/opt/open", "/opt/open/shared/Benchmark");
        // In a sticky directory nobody but root can rename root's entry: that one is kept in step.
        Assert.Equal("synced", ms[1].GetProperty("state").GetString());
        Assert.True(File.Exists(_sb.P("/opt/sticky/shared/Benchmark/b.csv")));
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Mirror_link_merges_the_extra_content_keeps_the_old_directory_and_links()
    {
        Tools.Sh($"mkdir -p '{_sb.P("/data/dataset/Benchmark")}' '{_sb.P("/opt/ai-lab-data/shared/sdfdsf")}' && echo new > '{_sb.P("/data/dataset/Benchmark/b.csv")}' && echo '<html>' > '{_sb.P("/opt/ai-lab-data/shared/sdfdsf/test.html")}' && mkdir -p '{_sb.P("/opt/ai-lab-data/shared/Benchmark")}' && echo older > '{_sb.P("/opt/ai-lab-data/shared/Benchmark/b.csv")}'");
        // A member's hard link to a root-only file elsewhere on the legacy path's file system: merging it would hand
        // the group a copy it can read.
        File.WriteAllText(_sb.P("/etc/root-only"), "secret");
        Assert.Equal(0, Tools.Sh($"chmod 600 '{_sb.P("/etc/root-only")}' && ln '{_sb.P("/etc/root-only")}' '{_sb.P("/opt/ai-lab-data/shared/sdfdsf/grab")}'").ExitCode);
        SetConfig("legacy_mirrors = []", "legacy_mirrors = [\"/opt/ai-lab-data/shared\"]");
        var r = _sb.Aica("data", "mirror", "--link");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("containers that bind-mounted the old path", r.StdOut);
        Assert.Contains("1 hard-linked file(s) owned by root or a non-member not merged", r.StdOut);
        Assert.False(File.Exists(_sb.P("/data/dataset/sdfdsf/grab")));
        Assert.Equal("600 0 0 2", Tools.Sh($"stat -c '%a %u %g %h' '{_sb.P("/etc/root-only")}'").StdOut.Trim());
        Assert.Equal("/data/dataset", new FileInfo(_sb.P("/opt/ai-lab-data/shared")).LinkTarget);
        Assert.Equal("<html>\n", File.ReadAllText(_sb.P("/data/dataset/sdfdsf/test.html")));
        Assert.Equal("root:gpu-users 664 regular file", _sb.Stat("/data/dataset/sdfdsf/test.html"));
        Assert.Equal("new\n", File.ReadAllText(_sb.P("/data/dataset/Benchmark/b.csv"))); // /data wins a conflict
        var old = Directory.GetDirectories(_sb.P("/opt/ai-lab-data"), "shared.aica-old-*").Single();
        Assert.Equal("older\n", File.ReadAllText(Path.Combine(old, "Benchmark/b.csv"))); // nothing lost
        Assert.True(File.Exists(Path.Combine(old, "sdfdsf/grab")));
        var again = _sb.Aica("--json", "data", "mirror");
        Assert.Equal("already_linked", Json(again).GetProperty("mirrors")[0].GetProperty("state").GetString());
    }

    [Trait("level", "blackbox")]
    [Theory]
    [InlineData("relative/path")]
    [InlineData("/data/dataset")]
    [InlineData("/opt/x=/etc")]
    public void Bad_mirror_entries_are_exit_2(string entry)
    {
        SetConfig("legacy_mirrors = []", $"legacy_mirrors = [\"{entry}\"]");
        Assert.Equal(2, _sb.Aica("data", "mirror").ExitCode);
    }

    // ---- verify ----

    [Trait("level", "blackbox")]
    [Fact]
    public void Verify_runs_as_each_member_and_names_the_blocking_component()
    {
        Tools.Sh($"mkdir -p '{_sb.P("/data/dataset/open/sub")}' '{_sb.P("/data/dataset/locked")}' '{_sb.P("/data/dataset/partly/private")}' && echo x > '{_sb.P("/data/dataset/open/sub/f")}' && echo y > '{_sb.P("/data/dataset/partly/private/f")}'");
        Tools.Sh($"chown 1001:1001 '{_sb.P("/data/dataset/locked")}' && chmod 700 '{_sb.P("/data/dataset/locked")}' && chmod 700 '{_sb.P("/data/dataset/partly/private")}'");
        var r = _sb.Aica("--json", "data", "verify");
        Assert.Equal(1, r.ExitCode);
        var results = Json(r).GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(6, results.Count); // 2 members x 3 datasets
        JsonElement Of(string u, string d) => results.Single(x => x.GetProperty("user").GetString() == u && x.GetProperty("dataset").GetString() == d);
        Assert.True(Of("alice", "open").GetProperty("ok").GetBoolean());
        Assert.Equal("/data/dataset/locked", Of("bob", "locked").GetProperty("blocking").GetString());
        Assert.Equal("/data/dataset/partly/private", Of("alice", "partly").GetProperty("unreadable")[0].GetString());

        var one = _sb.Aica("data", "verify", "--user", "alice");
        Assert.Contains("[FAIL] alice / locked: blocked at /data/dataset/locked", one.StdErr);
        Assert.DoesNotContain("bob", one.StdOut);
        Assert.Equal(2, _sb.Aica("data", "verify", "--user", "nosuchuser").ExitCode);
        Assert.Equal(2, _sb.Aica("data", "verify", "--user", "Bad;Name").ExitCode);

        Assert.Equal(0, _sb.Aica("data", "fix").ExitCode);
        Assert.Equal(0, _sb.Aica("data", "verify").ExitCode); // after the fix the kernel lets every member read everything
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Verify_reports_a_dataset_whose_name_cannot_be_passed_to_the_check_and_checks_the_rest()
    {
        Tools.Sh($"mkdir -p '{_sb.P("/data/dataset/fine dataset")}'");
        TreeFaker.MakeNonUtf8(_sb.P("/data/dataset"), "dir");
        var r = _sb.Aica("--json", "data", "verify", "--user", "alice");
        Assert.Equal(1, r.ExitCode);
        var results = Json(r).GetProperty("results").EnumerateArray().ToList();
        Assert.True(results.Single(x => x.GetProperty("dataset").GetString() == "fine dataset").GetProperty("ok").GetBoolean());
        var bad = results.Single(x => x.GetProperty("dataset").GetString() == "bad\\xffname");
        Assert.Contains("not valid UTF-8", bad.GetProperty("error").GetString());
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Doctor_counts_cache_entries_members_cannot_write()
    {
        Assert.Contains("[PASS] cache.hf.hub.group-writable", _sb.Aica("doctor", "-v").StdOut);
        Tools.Sh($"mkdir -p '{_sb.P("/data/models/huggingface/hub/models--x/blobs")}' && echo w > '{_sb.P("/data/models/huggingface/hub/models--x/blobs/abc")}' && chown -R 3001:3001 '{_sb.P("/data/models/huggingface/hub/models--x")}' && chmod -R go-w '{_sb.P("/data/models/huggingface/hub/models--x")}'");
        var r = _sb.Aica("--json", "doctor");
        var check = Json(r).GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("id").GetString() == "cache.hf.hub.group-writable");
        Assert.Equal("warn", check.GetProperty("status").GetString());
        Assert.StartsWith("/data/models/huggingface/hub: 3 of 4 entries", check.GetProperty("summary").GetString());
        Assert.Equal("aica perms /data/models/huggingface/hub", check.GetProperty("fix").GetString());
        Assert.Equal("alice:alice 2755 directory", _sb.Stat("/data/models/huggingface/hub/models--x")); // doctor is read-only
        Assert.Equal(0, _sb.Aica("perms", "/data/models/huggingface/hub").ExitCode);
        Assert.Contains("[PASS] cache.hf.hub.group-writable", _sb.Aica("doctor", "-v").StdOut);
    }

    // ---- report ----

    [Trait("level", "blackbox")]
    [Fact]
    public void Report_writes_text_and_json_and_doctor_shows_its_age()
    {
        var none = _sb.Aica("--json", "doctor");
        Assert.Contains(Json(none).GetProperty("checks").EnumerateArray(), c => c.GetProperty("id").GetString() == "data.report" && c.GetProperty("summary").GetString()!.StartsWith("no data report"));
        MakeOrphans();
        Tools.Sh($"mkdir -p '{_sb.P("/data/dataset/ds")}' && chmod 700 '{_sb.P("/data/dataset/ds")}'");
        var r = _sb.Aica("--json", "data", "report");
        Assert.Equal(0, r.ExitCode);
        var doc = Json(r);
        var json = _sb.P(doc.GetProperty("json").GetString()!);
        var text = _sb.P(doc.GetProperty("text").GetString()!);
        Assert.Matches(@"/data/admin/reports/data_sync_report_\d{8}_\d{6}\.txt$", text);
        var report = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        Assert.Equal(1, report.GetProperty("datasets").GetProperty("count").GetInt32());
        Assert.Equal(2, report.GetProperty("orphans").GetProperty("count").GetInt32());
        Assert.True(report.GetProperty("fixes").GetProperty("to_change").GetInt64() > 0);
        Assert.Equal(2, report.GetProperty("access").GetProperty("failed").GetInt32());
        Assert.Contains("Orphaned user data (aica data orphans --remove): 2", File.ReadAllText(text));
        Assert.Equal("640", Tools.Sh($"stat -c %a '{text}'").StdOut.Trim());
        Assert.True(Directory.Exists(_sb.P("/data/users/ghost"))); // a report changes nothing

        var doctor = _sb.Aica("doctor", "-v");
        Assert.Contains("data.report  latest data report less than a minute old", doctor.StdOut);
        Tools.Sh($"touch -d '40 days ago' '{json}'");
        Assert.Contains("[WARN] data.report  latest data report 40 days old", _sb.Aica("doctor").StdOut);
    }
}
