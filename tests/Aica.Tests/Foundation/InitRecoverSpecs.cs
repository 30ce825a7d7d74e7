using System.Text.Json;
using Aica.IO;
using Aica.Tests.Infra;

namespace Aica.Tests.Foundation;

/// <summary>Black-box tests of dist/aica against a --root sandbox with a real tmpfs /data.</summary>
[Trait("level", "blackbox")]
public sealed class InitRecoverSpecs
{
    /// <summary>(path, mtime, ctime, mode, owner) of everything under the sandbox, except aica's own logs and status (the node status files too).</summary>
    private static string Snapshot(Sandbox sb) =>
        Tools.Sh($"cd '{sb.Root}' && find . -path ./run/aica -prune -o -path ./var/log -prune -o -path ./data/admin/log -prune -o -path ./data/admin/nodes -prune -o -path ./var/lib/aica -prune -o -printf '%p %y %m %U:%G %T@ %C@ %l\\n' | sort").StdOut;

    [Fact]
    public void Init_and_recover_refuse_with_exit_3_when_data_is_not_mounted_and_create_nothing()
    {
        Require.Root();
        using var sb = new Sandbox(mountData: false);
        // A registry and a user on the unmounted mount point (a half-copied disk): still refused, nothing derived from it.
        Tools.Sh($"mkdir -p '{sb.P("/data/config")}' && echo 'alice:gpu-users:3001:3001:/bin/bash:symlink' > '{sb.P("/data/config/users.txt")}'");
        string All() => Tools.Sh($"cd '{sb.Root}' && find . -printf '%p %y %m %U:%G %T@ %C@\n' | sort").StdOut;
        var before = All();
        var init = sb.Aica("init", "--gid", "2500");
        Assert.Equal(3, init.ExitCode);
        Assert.Contains("not a mounted file system", init.StdErr);
        Assert.Equal(before, All()); // nothing anywhere, not even the lock
        var rec = sb.Aica("recover");
        Assert.Equal(3, rec.ExitCode);
        Assert.Equal(before.Split('\n').Where(l => !l.StartsWith("./run") && !l.StartsWith("./var")),
                     All().Split('\n').Where(l => !l.StartsWith("./run") && !l.StartsWith("./var")));
        Assert.Equal(3, sb.Aica("recover", "--dry-run").ExitCode);
        Assert.Equal(["./data/config"], Directory.EnumerateFileSystemEntries(sb.P("/data")).Select(p => "." + p[sb.Root.Length..]));
        Assert.DoesNotContain("gpu-users", File.ReadAllText(sb.P("/etc/group")));
        var status = JsonDocument.Parse(File.ReadAllText(sb.P("/run/aica/recovery.json")));
        Assert.Equal("refused", status.RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public void Recover_on_a_disk_never_initialised_fails_and_its_log_folder_is_not_world_readable()
    {
        Require.Root();
        using var sb = new Sandbox();
        var rec = sb.Aica("recover");
        Assert.NotEqual(0, rec.ExitCode);
        // The log line it writes makes /data/admin as init would: root:root 0750, never a readable 0755.
        Assert.Equal("root:root 750 directory", sb.Stat("/data/admin"));
    }

    [Fact]
    public void A_data_link_to_a_mounted_disk_is_refused_with_that_reason_and_nothing_is_written_through_it()
    {
        Require.Root();
        using var sb = new Sandbox(mountData: false);
        Directory.CreateDirectory(sb.P("/mnt/disk"));
        Assert.Equal(0, Tools.Sh($"mount -t tmpfs -o size=16m,mode=0755 aica-test-link '{sb.P("/mnt/disk")}'").ExitCode);
        try
        {
            Directory.Delete(sb.P("/data"));
            File.CreateSymbolicLink(sb.P("/data"), sb.P("/mnt/disk"));
            foreach (var cmd in new[] { "init", "recover" })
            {
                var r = sb.Aica(cmd);
                Assert.Equal(3, r.ExitCode);
                Assert.Contains("is a symbolic link, not a mounted file system", r.StdErr);
            }
            Assert.Empty(Directory.EnumerateFileSystemEntries(sb.P("/mnt/disk")));
            var doctor = sb.Aica("doctor", "--json");
            Assert.Equal(1, doctor.ExitCode);
            Assert.Contains("is a symbolic link", doctor.StdOut);
        }
        finally { Tools.Sh($"umount -l '{sb.P("/mnt/disk")}'"); }
    }

    [Fact]
    public void Init_sets_up_the_spec_layout_and_a_second_run_changes_nothing()
    {
        using var sb = Sandbox.Initialised();
        Assert.Equal("root:root 755 directory", sb.Stat("/data"));
        Assert.Equal("root:root 750 directory", sb.Stat("/data/admin"));
        Assert.Equal("root:gpu-users 2775 directory", sb.Stat("/data/cache/conda/pkgs"));
        Assert.Equal("root:gpu-users 2775 directory", sb.Stat("/data/models/huggingface/hub"));
        Assert.Equal("root:root 755 directory", sb.Stat("/data/models/huggingface"));
        Assert.Equal("root:gpu-users 3775 directory", sb.Stat("/data/dataset"));
        Assert.Equal("root:root 755 regular file", sb.Stat("/data/bin/aica"));
        Assert.Equal("root:root 440 regular file", sb.Stat("/etc/sudoers.d/aica"));
        Assert.Contains("gid = 2500", File.ReadAllText(sb.P("/data/config/aica.toml")));
        Assert.Contains("gpu-users:x:2500:", File.ReadAllText(sb.P("/etc/group")));
        var profile = File.ReadAllText(sb.P("/etc/profile.d/aica.sh"));
        Assert.Contains("export HF_HUB_CACHE=\"/data/models/huggingface/hub\"", profile);
        Assert.DoesNotContain("HF_HOME", profile.Split('\n').Where(l => l.StartsWith("export")));
        Assert.Equal(0, Tools.Run("visudo", ["-cf", sb.P("/etc/sudoers.d/aica")]).ExitCode);

        var before = Snapshot(sb);
        var log = File.ReadAllText(sb.P("/data/admin/log/aica.log"));
        var again = sb.Aica("init");
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("init: no changes", again.StdOut);
        Assert.Equal(before, Snapshot(sb));
        Assert.Equal(log, File.ReadAllText(sb.P("/data/admin/log/aica.log")));
    }

    [Fact]
    public void Init_dry_run_prints_the_plan_and_changes_nothing()
    {
        Require.Root();
        using var sb = new Sandbox();
        var before = Snapshot(sb);
        var r = sb.Aica("init", "--dry-run", "--gid", "2500");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("[PLAN] directory /data/models/torch", r.StdOut);
        Assert.Equal(before, Snapshot(sb));
    }

    [Fact]
    public void Recover_after_a_home_reset_brings_homes_back_and_steady_state_touches_no_file()
    {
        using var sb = Sandbox.WithUsers("alice", "bob");
        Assert.Equal(0, sb.Aica("recover").ExitCode);
        Assert.Equal("/data/users/alice", new FileInfo(sb.P("/home/alice")).LinkTarget);
        Assert.Equal("alice:gpu-users 2750 directory", sb.Stat("/data/users/alice"));

        var steady = Snapshot(sb);
        var r = sb.Aica("recover");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("recovered 2 users, 0 failed", r.StdOut.Trim());
        Assert.Equal(steady, Snapshot(sb));

        Tools.Sh($"rm -rf '{sb.P("/home")}'/*"); // home reset
        r = sb.Aica("recover");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(steady.Split('\n').Where(l => !l.StartsWith("./home")), Snapshot(sb).Split('\n').Where(l => !l.StartsWith("./home")));
        Assert.Equal("/data/users/bob", new FileInfo(sb.P("/home/bob")).LinkTarget);
        var status = JsonDocument.Parse(File.ReadAllText(sb.P("/run/aica/recovery.json"))).RootElement;
        Assert.Equal("ok", status.GetProperty("status").GetString());
        Assert.Equal(2, status.GetProperty("recovered").GetInt32());
        Assert.Contains("recovered 2 users, 0 failed", File.ReadAllText(sb.P("/var/log/aica-recovery.log")));
        Assert.Contains("recover: recovered 2 users, 0 failed", File.ReadAllText(sb.P("/data/admin/log/aica.log")));
    }

    [Fact]
    public void A_deliberate_0700_data_dir_is_kept_and_a_wide_one_is_narrowed()
    {
        using var sb = Sandbox.WithUsers("alice", "bob");
        sb.Aica("recover");
        Tools.Sh($"chmod 0700 '{sb.P("/data/users/alice")}'; chmod 0777 '{sb.P("/data/users/bob")}'");
        Assert.Equal(0, sb.Aica("recover").ExitCode);
        Assert.Equal("alice:gpu-users 2700 directory", sb.Stat("/data/users/alice")); // chmod keeps setgid on directories
        Assert.Equal("bob:gpu-users 2750 directory", sb.Stat("/data/users/bob"));
    }

    [Fact]
    public void Bad_registry_lines_are_reported_with_line_numbers_and_valid_lines_still_recover()
    {
        using var sb = Sandbox.WithUsers("alice", "bob");
        var text = File.ReadAllText(sb.P("/data/config/users.txt")).Replace("\n", "\r\n");
        text = text.Replace("alice:", "   alice:") + "   # indented comment\r\nx:y:z:...\r\nAlice:gpu-users\r\n-rf:gpu-users\r\n../x:gpu-users\r\na b:gpu-users\r\nroot:gpu-users";
        File.WriteAllText(sb.P("/data/config/users.txt"), text);
        var r = sb.Aica("recover");
        Assert.Equal(1, r.ExitCode);
        var reported = System.Text.RegularExpressions.Regex.Matches(r.StdErr, @"users\.txt line (\d+):").Select(m => int.Parse(m.Groups[1].Value)).Distinct().Order();
        Assert.Equal([5, 6, 7, 8, 9, 10], reported); // the comment lines, the indented one and the valid lines are not
        Assert.Equal(text, File.ReadAllText(sb.P("/data/config/users.txt"))); // recover never rewrites what the admin typed
        Assert.Equal("/data/users/alice", new FileInfo(sb.P("/home/alice")).LinkTarget);
        Assert.Equal("/data/users/bob", new FileInfo(sb.P("/home/bob")).LinkTarget);
        Assert.False(File.Exists(sb.P("/home/-rf")) || Directory.Exists(sb.P("/data/users/root")));
    }

    [Fact]
    public void A_user_whose_uid_was_taken_fails_loudly_and_the_others_recover()
    {
        using var sb = Sandbox.WithUsers("alice");
        File.AppendAllText(sb.P("/data/config/users.txt"), "bob:gpu-users:3002:3002:/bin/bash:symlink\ncarol:gpu-users:3003:3003:/bin/bash:symlink\n");
        Tools.Sh($"groupadd -P '{sb.Root}' -g 3002 mallory && useradd -P '{sb.Root}' -u 3002 -g 3002 -M mallory");
        // carol's uid is free but her private group's gid is taken by another group.
        Tools.Sh($"groupadd -P '{sb.Root}' -g 3003 eve");
        // bob's data from before the reset, in a state recover would otherwise "fix" (owner, mode, no .ssh).
        Tools.Sh($"mkdir '{sb.P("/data/users/bob")}' && echo mine > '{sb.P("/data/users/bob/notes")}' && chown -R 3002:0 '{sb.P("/data/users/bob")}' && chmod 0777 '{sb.P("/data/users/bob")}'");
        string Bob() => Tools.Sh($"cd '{sb.P("/data/users")}' && find bob -printf '%p %m %U:%G %T@ %C@\n' | sort").StdOut;
        var bobBefore = Bob();
        var r = sb.Aica("recover");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("3002 is taken by", r.StdErr); // [FAIL] lines on stderr
        Assert.Contains("gid 3003 is taken by group eve", r.StdErr);
        Assert.Contains("recovered 1 users, 2 failed", r.StdOut);
        Assert.Equal(bobBefore, Bob());
        Assert.False(Directory.Exists(sb.P("/data/users/carol")));
        Assert.DoesNotContain("\ncarol:", File.ReadAllText(sb.P("/etc/passwd")));
        Assert.DoesNotContain("gpu-users:x:2500:alice,mallory", File.ReadAllText(sb.P("/etc/group")));
        foreach (var u in new[] { "bob", "carol" }) Assert.False(File.Exists(sb.P($"/home/{u}")) || Directory.Exists(sb.P($"/home/{u}")));
        Assert.Equal("/data/users/alice", new FileInfo(sb.P("/home/alice")).LinkTarget);
        var status = JsonDocument.Parse(File.ReadAllText(sb.P("/run/aica/recovery.json"))).RootElement;
        Assert.Equal(("failed", 2), (status.GetProperty("status").GetString(), status.GetProperty("failed").GetInt32()));
    }

    [Fact]
    public void Planted_links_to_outside_are_removed_as_links_and_nothing_outside_changes()
    {
        Require.Root();
        using var sb = new Sandbox();
        using var outside = new TempVictim();
        sb.Init();
        sb.AddUser("alice", 3001);
        Tools.Sh($"ln -s '{outside.Dir}' '{sb.P("/data/users/alice")}'; rm -rf '{sb.P("/data/models/torch")}'; ln -s '{outside.Dir}' '{sb.P("/data/models/torch")}'; ln -s /etc/shadow '{sb.P("/data/cache/conda/pkgs")}x'");
        var before = outside.Snapshot();
        var r = sb.Aica("recover");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(before, outside.Snapshot());
        Assert.Equal("alice:gpu-users 2750 directory", sb.Stat("/data/users/alice"));
        Assert.Equal("root:gpu-users 2775 directory", sb.Stat("/data/models/torch"));
        Assert.Contains("removed planted link /data/users/alice", r.StdOut);
    }

    [Fact]
    public void A_second_recover_waits_for_the_lock_then_exits_4()
    {
        using var sb = Sandbox.Initialised();
        using var fs = new RootedFs(sb.Root);
        using var held = FileLock.Acquire(fs, "/run/aica/aica.lock", TimeSpan.Zero, "test");
        var r = sb.Aica("recover", "--wait", "0");
        Assert.Equal(4, r.ExitCode);
        Assert.Contains("busy", r.StdErr);
        held.Dispose();
        Assert.Equal(0, sb.Aica("recover", "--wait", "0").ExitCode);
    }

    [Fact]
    public void Two_recovers_started_together_are_serialised_one_does_the_work_the_other_finds_nothing()
    {
        using var sb = Sandbox.Initialised();
        for (var i = 0; i < 8; i++) sb.AddUser($"u{i:00}", 3100 + i);
        Tools.Sh($"cd '{sb.Root}' && sed -i '/^u[0-9]/d' etc/passwd etc/group etc/shadow etc/gshadow"); // a full reset of the accounts
        var r = Tools.Sh($"A='{Tools.AicaBin}'; cd '{sb.Root}' || exit 9; " +
                         $"( \"$A\" --root '{sb.Root}' recover --json > run/a.json 2>run/a.err; echo \"a=$?\" ) & " +
                         $"( \"$A\" --root '{sb.Root}' recover --json > run/b.json 2>run/b.err; echo \"b=$?\" ) & wait");
        var errs = r.StdOut + File.ReadAllText(sb.P("/run/a.err")) + File.ReadAllText(sb.P("/run/b.err")) + File.ReadAllText(sb.P("/run/a.json")) + File.ReadAllText(sb.P("/run/b.json"));
        Assert.True(r.StdOut.Contains("a=0") && r.StdOut.Contains("b=0"), errs);
        var actions = new[] { "a", "b" }.Select(n => JsonDocument.Parse(File.ReadAllText(sb.P($"/run/{n}.json"))).RootElement.GetProperty("actions").GetArrayLength()).Order().ToArray();
        Assert.Equal(0, actions[0]); // the second one waited for the lock and found nothing left to do
        Assert.True(actions[1] >= 16, $"{actions[1]} actions"); // the first rebuilt every private group and account
        Assert.Equal(0, sb.Aica("doctor").ExitCode);
    }

    [Fact]
    public void Recover_killed_at_any_point_converges_on_the_next_run()
    {
        using var sb = Sandbox.Initialised();
        for (var i = 0; i < 12; i++) sb.AddUser($"u{i:00}", 3100 + i);
        var users = File.ReadAllText(sb.P("/data/config/users.txt"));
        Assert.Equal(0, sb.Aica("recover").ExitCode);
        // The converged state: every path with its type, mode, owner and link target (times differ by design).
        // shadow-utils' own lock temp files (/etc/group.PID) left by a killed useradd are not aica's.
        string State() => string.Join('\n', Tools.Sh($"cd '{sb.Root}' && find . -path ./run -prune -o -path ./var/log -prune -o -path ./data/admin/log -prune -o -path ./data/admin/nodes -prune -o -path ./var/lib/aica -prune -o -printf '%p %y %m %U:%G %l\\n' | sort")
            .StdOut.Split('\n').Where(l => !System.Text.RegularExpressions.Regex.IsMatch(l, @"^\./etc/(passwd|group|shadow|gshadow)\.\d+ ")));
        var converged = State();
        // Kill at increasing points of a full-reset recovery (accounts, tree, /etc, homes).
        foreach (var delay in new[] { "0.002", "0.005", "0.01", "0.02", "0.04", "0.08" })
        {
            Tools.Sh($"cd '{sb.Root}' && rm -rf home/* etc/profile.d data/models/torch && " +
                     $"sed -i '/^u[0-9]/d' etc/passwd etc/group etc/shadow etc/gshadow");
            Tools.Sh($"timeout -s KILL {delay} '{Tools.AicaBin}' --root '{sb.Root}' recover >/dev/null 2>&1; true");
            var r = sb.Aica("recover");
            Assert.True(r.ExitCode == 0, r.ToString());
            var doc = sb.Aica("doctor");
            Assert.True(doc.ExitCode == 0, doc.ToString());
            Assert.Equal(converged, State()); // no temp file left by the killed run, nothing missing
        }
        Assert.Equal(users, File.ReadAllText(sb.P("/data/config/users.txt")));
    }

    [Fact]
    public void Doctor_fails_on_each_injected_breakage_and_passes_after_recover()
    {
        using var sb = Sandbox.WithUsers("alice");
        Assert.Equal(0, sb.Aica("recover").ExitCode);
        var healthy = sb.Aica("doctor", "--json");
        Assert.True(healthy.ExitCode == 0, healthy.ToString());

        (string Break, string CheckId)[] cases =
        [
            ($"rm '{sb.P("/home/alice")}'", "home.link:/home/alice"),
            ($"chmod 0777 '{sb.P("/data/models/torch")}'", "tree.shared:/data/models/torch"),
            ($"echo 'ALL ALL=(ALL) NOPASSWD: ALL' >> '{sb.P("/etc/sudoers.d/aica")}'", "sudoers.valid:/etc/sudoers.d/aica"),
            ($"rm '{sb.P("/etc/profile.d/aica.sh")}'", "etc.profile:/etc/profile.d/aica.sh"),
            ($"chown 3001 '{sb.P("/data/users/alice")}' && chgrp 0 '{sb.P("/data/users/alice")}'", "user.data:/data/users/alice"),
            ($"chmod 0775 '{sb.P("/data/config")}'", "path.safe"),
            ($"sed -i '/^alice:/d' '{sb.P("/etc/passwd")}'", "user.account:alice"),
            ($"rm '{sb.P("/etc/cron.d/aica")}'", "cron.file:/etc/cron.d/aica"),
            ($"echo '# edited' >> '{sb.P("/etc/systemd/system/aica-recovery.service")}'", "unit.file:/etc/systemd/system/aica-recovery.service"),
            ($"rm '{sb.P("/etc/conda/.condarc")}'", "etc.condarc:/etc/conda/.condarc"),
            ($"sed -i 's/^gpu-users:x:2500:/gpu-users:x:2600:/' '{sb.P("/etc/group")}'", "group:gpu-users"),
            ($"rm '{sb.P("/data/bin/aica")}'", "bin.installed:/data/bin/aica"),
        ];
        // Each repair below is the one doctor's fix names (recover, or init for what init installs / a gid put back).
        var repairs = new Dictionary<string, string>
        {
            ["group:gpu-users"] = $"sed -i 's/^gpu-users:x:2600:/gpu-users:x:2500:/' '{sb.P("/etc/group")}'",
        };
        foreach (var (breakIt, id) in cases)
        {
            Tools.Sh(breakIt);
            var r = sb.Aica("doctor", "--json");
            Assert.True(r.ExitCode == 1, $"{id}: {r}");
            var checks = JsonDocument.Parse(r.StdOut).RootElement.GetProperty("checks").EnumerateArray();
            Assert.Contains(checks, c => c.GetProperty("id").GetString() == id && c.GetProperty("status").GetString() == "fail");
            if (repairs.TryGetValue(id, out var repair)) Tools.Sh(repair);
            if (id.StartsWith("bin.")) Assert.Equal(0, sb.Aica("init").ExitCode);
            var fix = sb.Aica("recover");
            Assert.True(fix.ExitCode == 0, $"{id}: {fix}");
            var after = sb.Aica("doctor");
            Assert.True(after.ExitCode == 0, $"{id}: {after}");
        }
    }

    [Fact]
    public void Doctor_reports_every_problem_in_one_run_each_with_a_fix_and_survives_unreadable_files()
    {
        using var sb = Sandbox.WithUsers("alice");
        Assert.Equal(0, sb.Aica("recover").ExitCode);
        // Many breakages at once: doctor must name each of them, not stop at the first.
        File.AppendAllText(sb.P("/data/config/aica.toml"), "\nbogus = 1\n");
        File.AppendAllText(sb.P("/data/config/users.txt"), "x:y:z\n");
        var badLine = File.ReadAllLines(sb.P("/data/config/users.txt")).Length;
        Tools.Sh($"rm '{sb.P("/home/alice")}' '{sb.P("/etc/cron.d/aica")}' '{sb.P("/etc/systemd/system/aica-recovery.service")}'; " +
                 $"chmod 0777 '{sb.P("/data/models/torch")}'; chmod 0775 '{sb.P("/data/bin")}'");
        var r = sb.Aica("doctor", "--json");
        Assert.True(r.ExitCode == 1, r.ToString());
        var checks = JsonDocument.Parse(r.StdOut).RootElement.GetProperty("checks").EnumerateArray().ToList();
        JsonElement Fail(string id) => Assert.Single(checks, c => c.GetProperty("id").GetString() == id && c.GetProperty("status").GetString() == "fail");
        Assert.Contains("line", Fail("config.parse").GetProperty("summary").GetString());
        Assert.Contains($"line {badLine}", Fail("registry.parse").GetProperty("summary").GetString());
        Assert.Contains("/data/bin", Fail("path.safe").GetProperty("summary").GetString());
        foreach (var id in new[] { "home.link:/home/alice", "cron.file:/etc/cron.d/aica", "unit.file:/etc/systemd/system/aica-recovery.service",
                     "tree.shared:/data/models/torch", "tree.dir:/data/bin" })
            Fail(id);
        Assert.DoesNotContain(checks, c => c.GetProperty("id").GetString() == "group.gid-recorded" && c.GetProperty("status").GetString() != "pass");
        foreach (var c in checks.Where(c => c.GetProperty("status").GetString() != "pass"))
            Assert.False(string.IsNullOrWhiteSpace(c.GetProperty("fix").GetString()), c.ToString());
        var human = sb.Aica("doctor");
        Assert.Equal(1, human.ExitCode);
        Assert.Contains($"[FAIL] registry.parse", human.StdOut);
        Assert.Contains($"line {badLine})", human.StdOut);
        Assert.StartsWith("doctor: ", human.StdOut.TrimEnd().Split('\n')[^1]);

        // Files that cannot be read at all: each is a FAIL under its own id, and the other checks still run.
        Tools.Sh($"cd '{sb.P("/data/config")}' && mv users.txt users.bak && mkdir users.txt && mv aica.toml aica.bak && mkdir aica.toml");
        r = sb.Aica("doctor", "--json");
        Assert.True(r.ExitCode == 1, r.ToString());
        checks = JsonDocument.Parse(r.StdOut).RootElement.GetProperty("checks").EnumerateArray().ToList();
        Fail("config.parse");
        Fail("registry.parse");
        Fail("tree.dir:/data/bin");
        Assert.Contains(checks, c => c.GetProperty("id").GetString() == "data.mounted" && c.GetProperty("status").GetString() == "pass");
        Assert.DoesNotContain(checks, c => c.GetProperty("id").GetString() == "users.unregistered" && c.GetProperty("status").GetString() != "pass");
        Assert.Contains(checks, c => c.GetProperty("id").GetString() == "gpu.seen");
    }

    [Fact]
    public void Doctor_json_has_the_documented_shape_and_nothing_else_on_stdout()
    {
        using var sb = Sandbox.Initialised();
        var r = sb.Aica("doctor", "--json");
        var root = JsonDocument.Parse(r.StdOut).RootElement;
        Assert.Equal("0.1.0", root.GetProperty("version").GetString());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("host").GetString()));
        foreach (var c in root.GetProperty("checks").EnumerateArray())
        {
            Assert.Contains(c.GetProperty("status").GetString(), new[] { "pass", "warn", "fail" });
            foreach (var k in new[] { "id", "summary", "details", "fix", "duration_ms" }) Assert.True(c.TryGetProperty(k, out _), k);
        }
        var s = root.GetProperty("summary");
        Assert.Equal(root.GetProperty("checks").GetArrayLength(), s.GetProperty("pass").GetInt32() + s.GetProperty("warn").GetInt32() + s.GetProperty("fail").GetInt32());
        // The kernel's hard-link protection, which the walks' hard-link rule relies on, as this kernel has it.
        var hardlinks = root.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("id").GetString() == "kernel.protected-hardlinks");
        var expected = File.ReadAllText("/proc/sys/fs/protected_hardlinks").Trim() == "1" ? "pass" : "warn";
        Assert.Equal(expected, hardlinks.GetProperty("status").GetString());
    }
}

/// <summary>A directory outside every sandbox, with a file whose content, mode and owner must never change.</summary>
public sealed class TempVictim : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("aica-victim-").FullName;
    public TempVictim()
    {
        File.WriteAllText(Path.Combine(Dir, "victim"), "do not touch");
        Tools.Sh($"chmod 0700 '{Dir}'; chmod 0600 '{Dir}/victim'");
    }
    public string Snapshot() => Tools.Sh($"find '{Dir}' -printf '%p %m %U:%G %s %T@ %C@\\n' | sort; cat '{Dir}/victim'").StdOut;
    public void Dispose() => Tools.Sh($"rm -rf '{Dir}'");
}
