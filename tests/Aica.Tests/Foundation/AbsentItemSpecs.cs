using Aica.Config;
using Aica.Engine;
using Aica.Integration;
using Aica.IO;
using Aica.Tests.Infra;
using static Aica.Native.Perms;

namespace Aica.Tests.Foundation;

/// <summary>
/// "Must be absent" items (systemd-tmpfiles <c>r</c>, <c>R</c> and backup-first) on a temp root: plan, apply and
/// check from one item, a dry run changes nothing, and a link a member planted at the path is removed as a link
/// whatever it points to (the host's /etc/shadow, a victim's home): its target is never touched.
/// </summary>
[Trait("level", "unit")]
public sealed class AbsentItemSpecs : IDisposable
{
    private const uint Member = 3001;
    private readonly string _root = Directory.CreateTempSubdirectory("aica-absent-").FullName;
    private readonly string _victim = Directory.CreateTempSubdirectory("aica-victim-").FullName;
    private readonly RootedFs _fs;
    private readonly EngineContext _ctx;
    private CancellationToken Ct => TestContext.Current.CancellationToken;

    public AbsentItemSpecs()
    {
        Require.Root();
        (_fs, _ctx) = EngineRoot.Open(_root, new ProcessRunner());
        // A victim's home outside the root: a folder with a private file.
        Directory.CreateDirectory(Path.Combine(_victim, "thesis"));
        File.WriteAllText(Path.Combine(_victim, "thesis/ch1.tex"), "chapter 1\n");
    }

    public void Dispose()
    {
        _fs.Dispose();
        Directory.Delete(_root, true);
        Directory.Delete(_victim, true);
    }

    private string P(string path) => _root + path;
    private static DesiredState State(params Item[] items) => new([new Unit(Phase.Etc, "test", null, items)], []);

    private void Write(string path, string text, uint uid = 0)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(P(path))!);
        File.WriteAllText(P(path), text);
        Native.Sys.LchownAt(Native.Flags.AT_FDCWD, Native.Sys.Z(P(path)), uid, uid, P(path));
    }

    /// <summary>A link a member made (owned by them), as the bash era's group-writable folders allowed.</summary>
    private void Plant(string path, string target)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(P(path))!);
        File.CreateSymbolicLink(P(path), target);
        Native.Sys.LchownAt(Native.Flags.AT_FDCWD, Native.Sys.Z(P(path)), Member, Member, P(path));
    }

    /// <summary>Names, types, modes, owners, sizes, mtimes, link targets and content hashes below a folder.</summary>
    private static string Snapshot(string dir) =>
        Tools.Sh($"cd '{dir}' && find . -printf '%p %y %m %u %g %s %T@ %l\\n' | sort && find . -type f -exec md5sum {{}} + | sort").StdOut;

    private static string HostFile(string path) => Tools.Sh($"stat -c '%i %s %a %u %g %Y %Z' {path} && md5sum {path}").StdOut;

    [Fact]
    public async Task Remove_plans_applies_and_checks_a_file_and_then_passes()
    {
        Write("/etc/profile.d/old.sh", "export X=1\n");
        var item = new AbsentItem("/etc/profile.d/old.sh", Removal.Remove, "legacy.test", "a retired loader") { Fix = "aica adopt" };
        var engine = new StateEngine(_ctx);

        var planned = Assert.Single(engine.Plan(State(item)));
        Assert.Contains("/etc/profile.d/old.sh is present (a retired loader)", planned.Drift.Summary);
        var check = Assert.Single(engine.Check(State(item)));
        Assert.Equal((CheckStatus.Warn, "aica adopt", "legacy.test:/etc/profile.d/old.sh"), (check.Status, check.Fix, check.Id));

        var applied = await engine.Apply(State(item), Ct);
        Assert.True(Assert.Single(applied.Actions).Ok);
        Assert.False(File.Exists(P("/etc/profile.d/old.sh")));
        Assert.True(Directory.Exists(P("/etc/profile.d")));
        Assert.Empty(engine.Plan(State(item)));
        Assert.Equal(CheckStatus.Pass, Assert.Single(engine.Check(State(item))).Status);
        Assert.Empty((await engine.Apply(State(item), Ct)).Actions);
    }

    [Fact]
    public async Task Remove_takes_an_empty_folder_but_a_folder_with_content_is_a_conflict_left_whole()
    {
        Directory.CreateDirectory(P("/opt/empty"));
        Write("/opt/full/keep.txt", "data\n");
        var empty = new AbsentItem("/opt/empty", Removal.Remove, "t", "unused");
        var full = new AbsentItem("/opt/full", Removal.Remove, "t", "unused");
        var engine = new StateEngine(_ctx);
        Assert.True(Assert.Single(engine.Plan(State(full))).Drift.Conflict);
        var r = await engine.Apply(new DesiredState([new Unit(Phase.Etc, "a", null, [empty]), new Unit(Phase.Etc, "b", null, [full])], []), Ct);
        Assert.False(Directory.Exists(P("/opt/empty")));
        Assert.Equal("data\n", File.ReadAllText(P("/opt/full/keep.txt")));
        Assert.Contains(r.Actions, a => a.Item == full && !a.Ok && a.Error!.Contains("directory with content"));
    }

    [Fact]
    public async Task RemoveTree_removes_the_tree_and_only_the_links_inside_it_never_what_they_point_to()
    {
        Write("/opt/old/a/b/c.txt", "c\n", Member);
        Plant("/opt/old/a/home", _victim);
        Plant("/opt/old/a/b/shadow", "/etc/shadow");
        Plant("/opt/old/a/ch1", Path.Combine(_victim, "thesis/ch1.tex"));
        var victim = Snapshot(_victim);
        var shadow = HostFile("/etc/shadow");
        var item = new AbsentItem("/opt/old", Removal.RemoveTree, "t", "a retired tree") { Severity = CheckStatus.Fail };
        var engine = new StateEngine(_ctx);
        Assert.Equal(CheckStatus.Fail, Assert.Single(engine.Check(State(item))).Status);
        Assert.True(Assert.Single((await engine.Apply(State(item), Ct)).Actions).Ok);
        Assert.False(Directory.Exists(P("/opt/old")));
        Assert.True(Directory.Exists(P("/opt")));
        Assert.Equal(victim, Snapshot(_victim));
        Assert.Equal(shadow, HostFile("/etc/shadow"));
    }

    [Fact]
    public async Task BackupFirst_moves_the_file_into_the_backup_under_its_own_path_with_bytes_owner_and_mode()
    {
        Write("/etc/sudoers.d/old", "%lab ALL=(ALL) NOPASSWD: /usr/bin/df\n");
        File.SetUnixFileMode(P("/etc/sudoers.d/old"), UnixFileMode.UserRead | UnixFileMode.GroupRead);
        var item = new AbsentItem("/etc/sudoers.d/old", Removal.BackupFirst, "t", "retired rules") { BackupDir = "/data/admin/backups/adopt_1" };
        var engine = new StateEngine(_ctx);
        Assert.True(Assert.Single((await engine.Apply(State(item), Ct)).Actions).Ok);
        Assert.False(File.Exists(P("/etc/sudoers.d/old")));
        var kept = P("/data/admin/backups/adopt_1/etc/sudoers.d/old");
        Assert.Equal("%lab ALL=(ALL) NOPASSWD: /usr/bin/df\n", File.ReadAllText(kept));
        Assert.Equal("440 root root", Tools.Sh($"stat -c '%a %U %G' '{kept}'").StdOut.Trim());
        Assert.Equal("750 750 750", Tools.Sh($"stat -c '%a' '{P("/data/admin")}' '{P("/data/admin/backups")}' '{P("/data/admin/backups/adopt_1")}' | xargs").StdOut.Trim());
        Assert.Equal(CheckStatus.Pass, Assert.Single(engine.Check(State(item))).Status);
    }

    [Fact]
    public async Task Unless_and_only_leave_what_belongs_there_and_warn_about_another_kind()
    {
        Write("/data/config/global_env.sh", "# stub\n");
        Directory.CreateDirectory(P("/tmp/recovery-complete"));
        Directory.CreateDirectory(P("/data/system/config"));
        var stub = new AbsentItem("/data/config/global_env.sh", Removal.Remove, "t", "old env") { Unless = c => c.Fs.ReadText("/data/config/global_env.sh") == "# stub\n" };
        var marker = new AbsentItem("/tmp/recovery-complete", Removal.Remove, "t", "old marker") { Only = Kinds.File };
        var realDir = new AbsentItem("/data/system/config", Removal.Remove, "t", "planted") { Only = Kinds.Link, WarnOthers = false };
        var engine = new StateEngine(_ctx);
        var plan = engine.Plan(State(stub, marker, realDir));
        var only = Assert.Single(plan);
        Assert.Same(marker, only.Item);
        Assert.True(only.Drift.Conflict);
        Assert.Equal(CheckStatus.Warn, only.Drift.Severity);
        Assert.Contains("left alone", only.Drift.Summary);
        await engine.Apply(State(stub, marker, realDir), Ct);
        Assert.True(File.Exists(P("/data/config/global_env.sh")));
        Assert.True(Directory.Exists(P("/tmp/recovery-complete")));
        Assert.True(Directory.Exists(P("/data/system/config")));
    }

    /// <summary>The attack: a member replaced a retired path with a link to /etc/shadow or to a victim's home. Every kind removes the link only.</summary>
    [Theory]
    [InlineData(Removal.Remove)]
    [InlineData(Removal.RemoveTree)]
    [InlineData(Removal.BackupFirst)]
    public async Task A_planted_link_at_a_retired_path_goes_as_a_link_and_its_target_is_untouched(Removal how)
    {
        Plant("/etc/profile.d/global_envs.sh", "/etc/shadow");
        Plant("/data/scripts", _victim); // a link where a folder is expected
        Plant("/data/config/users.txt", Path.Combine(_victim, "thesis/ch1.tex"));
        var shadow = HostFile("/etc/shadow");
        var victim = Snapshot(_victim);
        Item[] items =
        [
            new AbsentItem("/etc/profile.d/global_envs.sh", how, "t", "retired") { BackupDir = "/data/admin/backups/b" },
            new AbsentItem("/data/scripts", how, "t", "retired") { BackupDir = "/data/admin/backups/b" },
            new AbsentItem("/data/config/users.txt", how, "t", "retired") { BackupDir = "/data/admin/backups/b" },
            // Below the planted folder link: looked up without following, so not there; nothing is done through it.
            new AbsentItem("/data/scripts/thesis", how, "t", "retired") { BackupDir = "/data/admin/backups/b" },
        ];
        var engine = new StateEngine(_ctx);
        var plan = engine.Plan(State(items));
        Assert.Equal(3, plan.Count);
        Assert.All(plan, p => Assert.Contains("is a symbolic link to", p.Drift.Summary));
        var r = await engine.Apply(State(items), Ct);
        Assert.All(r.Actions, a => Assert.True(a.Ok, a.Error));
        foreach (var p in new[] { "/etc/profile.d/global_envs.sh", "/data/scripts", "/data/config/users.txt" })
            Assert.Null(_fs.Lstat(p));
        Assert.Equal(shadow, HostFile("/etc/shadow"));
        Assert.Equal(victim, Snapshot(_victim));
        if (how == Removal.BackupFirst)
            Assert.Equal("/etc/shadow", new FileInfo(P("/data/admin/backups/b/etc/profile.d/global_envs.sh")).LinkTarget);
        Assert.Contains(_ctx.Notes.ToList(), n => n.Contains("removed link /data/scripts") && n.Contains("not followed"));
    }

    [Fact]
    public void A_dry_run_plan_changes_nothing()
    {
        Write("/etc/sudoers.d/aica-datakeeper", "%lab ALL=(ALL) NOPASSWD: DISK\nCmnd_Alias DISK = /usr/bin/df\n");
        Write("/opt/tree/a/b.txt", "b\n", Member);
        Plant("/etc/profile.d/global_envs.sh", "/etc/shadow");
        Write("/tmp/recovery-complete", "");
        var before = Snapshot(_root);
        var items = RetiredFiles.Items("/data/admin/backups/adopt_x").Cast<Item>()
            .Append(new AbsentItem("/opt/tree", Removal.RemoveTree, "t", "retired")).ToArray();
        var engine = new StateEngine(_ctx);
        Assert.Equal(4, engine.Plan(State(items)).Count);
        Assert.Equal(4, engine.Check(State(items)).Count(c => c.Status != CheckStatus.Pass));
        Assert.Equal(before, Snapshot(_root));
    }

    [Fact]
    public async Task The_retired_table_refuses_a_hand_edited_sudoers_drop_in_and_removes_the_bash_era_one()
    {
        const string bashEra = "Cmnd_Alias CACHE_MGMT = /data/scripts/ops-clean-cache.sh\n%gpu-users ALL=(ALL) NOPASSWD: CACHE_MGMT\n";
        Write(RetiredFiles.LegacySudoers, bashEra + "alice ALL=(ALL) NOPASSWD: ALL\n");
        var engine = new StateEngine(_ctx);
        var state = State([.. RetiredFiles.Items("/data/admin/backups/adopt_y")]);
        var check = Assert.Single(engine.Check(state), c => c.Status != CheckStatus.Pass);
        Assert.Equal(CheckStatus.Fail, check.Status);
        Assert.Contains("edited by hand (alice ALL=(ALL) NOPASSWD: ALL)", check.Summary);
        await engine.Apply(state, Ct);
        Assert.True(File.Exists(P(RetiredFiles.LegacySudoers)));

        Write(RetiredFiles.LegacySudoers, bashEra);
        var warn = Assert.Single(engine.Check(state), c => c.Status != CheckStatus.Pass);
        Assert.Equal((CheckStatus.Warn, "aica adopt --dry-run, then aica adopt (backs up and replaces them)"), (warn.Status, warn.Fix));
        Assert.True(Assert.Single((await engine.Apply(state, Ct)).Actions).Ok);
        Assert.False(File.Exists(P(RetiredFiles.LegacySudoers)));
        Assert.Equal(bashEra, File.ReadAllText(P("/data/admin/backups/adopt_y" + RetiredFiles.LegacySudoers)));
        Assert.All(engine.Check(state), c => Assert.Equal(CheckStatus.Pass, c.Status));
    }
}
