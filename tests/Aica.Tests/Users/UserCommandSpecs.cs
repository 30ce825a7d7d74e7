using System.Diagnostics;
using System.Text.Json;
using Aica.Tests.Infra;

namespace Aica.Tests.Users;

/// <summary>Black-box tests of aica user add|remove|list against a --root sandbox with a tmpfs /data.</summary>
[Trait("level", "blackbox")]
public sealed class UserCommandSpecs
{
    /// <summary>Everything under the sandbox but aica's logs: path, type, mode, owner, size, times, link target.</summary>
    internal static string Snapshot(Sandbox sb) =>
        Tools.Sh($"cd '{sb.Root}' && find . -path ./run/aica -prune -o -path ./tmp -prune -o -path ./var/log -prune -o -path ./data/admin/log -prune -o -path ./data/admin/nodes -prune -o -path ./var/lib/aica -prune -o -printf '%p %y %m %U:%G %s %T@ %C@ %l\\n' | sort").StdOut; // node status files are aica's status, like its log

    internal static string KeyFile(Sandbox sb, string text, string name = "key.pub")
    {
        var p = sb.P($"/tmp/{name}");
        File.WriteAllText(p, text);
        return p;
    }

    [Theory]
    [InlineData("Alice")]
    [InlineData("-rf")]
    [InlineData("../x")]
    [InlineData("a:b")]
    [InlineData("a b")]
    [InlineData("")]
    [InlineData("root")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456")]
    public void A_bad_name_is_exit_2_and_nothing_is_created(string name)
    {
        using var sb = Sandbox.Initialised();
        var before = Snapshot(sb);
        var r = sb.Aica("user", "add", name);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Equal(before, Snapshot(sb));
        Assert.Equal(2, sb.Aica("user", "remove", name, "--yes").ExitCode);
        Assert.Equal(2, sb.Aica("user", "fix", name).ExitCode);
        Assert.Equal(2, sb.Aica("user", "migrate", name, "--to", "hybrid", "--yes").ExitCode);
        Assert.Equal(2, sb.Aica("user", "migrate", name, "--rollback", "--yes").ExitCode);
        Assert.Equal(before, Snapshot(sb));
    }

    [Fact]
    public void Every_user_command_that_changes_state_refuses_an_unmounted_data_and_creates_nothing()
    {
        Require.Root();
        using var sb = new Sandbox(mountData: false);
        var before = Snapshot(sb);
        foreach (var args in new[]
        {
            new[] { "user", "add", "alice" }, ["user", "remove", "alice", "--yes"], ["user", "fix", "alice"],
            ["user", "migrate", "alice", "--to", "hybrid", "--yes"], ["user", "migrate", "alice", "--rollback", "--yes"],
        })
        {
            var r = sb.Aica(args);
            Assert.True(r.ExitCode == 3, $"{string.Join(' ', args)}: {r}");
        }
        Assert.Equal(before, Snapshot(sb));
    }

    [Theory]
    [InlineData("garbage\n")]
    [InlineData("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n")]
    [InlineData(UserUnitSpecs.Ed25519 + "\n" + UserUnitSpecs.Ed25519 + "\n")]
    public void A_bad_public_key_is_exit_2_and_authorized_keys_is_untouched(string key)
    {
        using var sb = Sandbox.Initialised();
        Assert.Equal(0, sb.Aica("user", "add", "alice", "--pubkey-file", KeyFile(sb, UserUnitSpecs.Ed25519 + "\n", "good.pub")).ExitCode);
        var before = Snapshot(sb);
        var r = sb.Aica("user", "add", "alice", "--pubkey-file", KeyFile(sb, key));
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains("--pubkey-file", r.StdErr);
        var fresh = sb.Aica("user", "add", "bob", "--pubkey-file", KeyFile(sb, key));
        Assert.Equal(2, fresh.ExitCode);
        Assert.Equal(before, Snapshot(sb));
        Assert.Equal(UserUnitSpecs.Ed25519 + "\n", File.ReadAllText(sb.P("/data/users/alice/.ssh/authorized_keys")));
        Assert.DoesNotContain("bob", File.ReadAllText(sb.P("/etc/passwd")));
    }

    [Fact]
    public void Add_sets_up_both_layouts_registers_and_a_second_run_changes_nothing()
    {
        using var sb = Sandbox.Initialised();
        Directory.CreateDirectory(sb.P("/etc/skel"));
        File.WriteAllText(sb.P("/etc/skel/.profile"), "# skel profile\n");
        File.WriteAllText(sb.P("/etc/skel/.bash_logout"), "clear\n");
        File.WriteAllText(sb.P("/etc/skel/.bash_profile"), "# skel bash_profile\n");
        var key = KeyFile(sb, UserUnitSpecs.Ed25519 + "\n");
        var initial = Snapshot(sb);
        var plan = sb.Aica("user", "add", "alice", "--pubkey-file", key, "--dry-run");
        Assert.True(plan.ExitCode == 0, plan.ToString());
        Assert.Contains("[PLAN] account alice (uid 1000", plan.StdOut);
        Assert.Equal(initial, Snapshot(sb));
        var a = sb.Aica("user", "add", "alice", "--pubkey-file", key);
        Assert.True(a.ExitCode == 0, a.ToString());
        var b = sb.Aica("user", "add", "bob", "--layout", "hybrid", "--uid", "3002", "--shell", "/bin/zsh", "--pubkey-file", key);
        Assert.True(b.ExitCode == 0, b.ToString());

        var reg = File.ReadAllText(sb.P("/data/config/users.txt"));
        Assert.Contains("alice:gpu-users:1000:1000:/bin/bash:symlink\n", reg);
        Assert.Contains("bob:gpu-users:3002:3002:/bin/zsh:hybrid\n", reg);
        Assert.Contains("alice:x:1000:1000::/home/alice:/bin/bash", File.ReadAllText(sb.P("/etc/passwd")));
        Assert.Matches("(?m)^gpu-users:x:2500:alice,bob$", File.ReadAllText(sb.P("/etc/group")));
        Assert.Contains("bob:x:3002:", File.ReadAllText(sb.P("/etc/group")));
        Assert.Contains("bob:!", File.ReadAllText(sb.P("/etc/shadow"))); // no password: locked

        Assert.Equal("alice:gpu-users 2750 directory", sb.Stat("/data/users/alice"));
        Assert.Equal("bob:gpu-users 2750 directory", sb.Stat("/data/users/bob"));

        // symlink layout
        Assert.Equal("/data/users/alice", new FileInfo(sb.P("/home/alice")).LinkTarget);
        var profile = File.ReadAllText(sb.P("/data/users/alice/.profile"));
        Assert.StartsWith("# skel profile\n", profile);
        Assert.Contains("umask 002", profile);
        Assert.Contains("umask 002", File.ReadAllText(sb.P("/data/users/alice/.zprofile")));
        Assert.Contains("umask 002", File.ReadAllText(sb.P("/data/users/alice/.bash_profile"))); // bash reads it instead of .profile
        Assert.Contains("  - /data/users/alice/conda/envs", File.ReadAllText(sb.P("/data/users/alice/.condarc")));
        Assert.Contains("  - /data/cache/conda/pkgs", File.ReadAllText(sb.P("/data/users/alice/.condarc")));
        Assert.Equal("alice:gpu-users 600 regular file", sb.Stat("/data/users/alice/.ssh/authorized_keys"));
        Assert.Equal("alice:gpu-users 2700 directory", sb.Stat("/data/users/alice/.ssh"));
        Assert.Equal("clear\n", File.ReadAllText(sb.P("/data/users/alice/.bash_logout")));

        // hybrid layout
        Assert.Equal("bob:bob 750 directory", sb.Stat("/home/bob"));
        Assert.Equal("/data/users/bob/dotfiles/.profile", new FileInfo(sb.P("/home/bob/.profile")).LinkTarget);
        Assert.Equal("/data/users/bob/dotfiles/.ssh", new FileInfo(sb.P("/home/bob/.ssh")).LinkTarget);
        Assert.Equal("/data/users/bob", new FileInfo(sb.P("/home/bob/data")).LinkTarget);
        Assert.StartsWith("# skel profile\n", File.ReadAllText(sb.P("/data/users/bob/dotfiles/.profile")));
        Assert.Equal("clear\n", File.ReadAllText(sb.P("/home/bob/.bash_logout")));
        // bash login shells read ~/.bash_profile (here a file on the SSD) instead of ~/.profile: the block must be there.
        var bobBashProfile = File.ReadAllText(sb.P("/home/bob/.bash_profile"));
        Assert.StartsWith("# skel bash_profile\n", bobBashProfile);
        Assert.Contains("umask 002", bobBashProfile);
        Assert.Equal("bob:bob 644 regular file", sb.Stat("/home/bob/.bash_profile"));
        Assert.Equal(UserUnitSpecs.Ed25519 + "\n", File.ReadAllText(sb.P("/data/users/bob/dotfiles/.ssh/authorized_keys")));
        Assert.Contains("  - /data/users/bob/conda/envs", File.ReadAllText(sb.P("/data/users/bob/dotfiles/.condarc")));

        var steady = Snapshot(sb);
        var again = sb.Aica("user", "add", "bob", "--pubkey-file", key);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("no changes", again.StdOut);
        Assert.Equal(0, sb.Aica("user", "add", "alice").ExitCode);
        Assert.Equal(0, sb.Aica("recover").ExitCode);
        Assert.Equal(steady, Snapshot(sb));
        var doctor = sb.Aica("doctor", "--json");
        Assert.True(doctor.ExitCode == 0, doctor.ToString());
        Assert.Contains("\"id\": \"home.dotfile:/home/bob/.ssh\"", doctor.StdOut);

        var list = JsonDocument.Parse(sb.Aica("user", "list", "--json").StdOut).RootElement.GetProperty("users");
        Assert.Equal(["alice ok symlink", "bob ok hybrid"], list.EnumerateArray().Select(u => $"{u.GetProperty("name").GetString()} {u.GetProperty("status").GetString()} {u.GetProperty("layout").GetString()}"));
    }

    [Fact]
    public void Recover_keeps_the_persistent_dotfile_backs_up_the_ssd_copy_and_merges_a_real_ssh_dir_without_nesting()
    {
        using var sb = Sandbox.Initialised();
        Assert.Equal(0, sb.Aica("user", "add", "bob", "--layout", "hybrid", "--pubkey-file", KeyFile(sb, UserUnitSpecs.Ed25519 + "\n")).ExitCode);
        var persistentProfile = File.ReadAllText(sb.P("/data/users/bob/dotfiles/.profile"));
        const string other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherKeyOtherKeyOtherKeyOtherKeyOtherKey00 bob@ssd";
        // What a member (or a reset image) can leave on the SSD: real files and a real ~/.ssh where aica's links belong.
        File.Delete(sb.P("/home/bob/.profile"));
        File.WriteAllText(sb.P("/home/bob/.profile"), "ssd copy\n");
        File.Delete(sb.P("/home/bob/.vimrc"));
        File.WriteAllText(sb.P("/home/bob/.vimrc"), "set nu\n");
        File.Delete(sb.P("/home/bob/.ssh"));
        Directory.CreateDirectory(sb.P("/home/bob/.ssh"));
        File.WriteAllText(sb.P("/home/bob/.ssh/authorized_keys"), other + "\n");
        File.WriteAllText(sb.P("/home/bob/.ssh/config"), "Host *\n");
        Tools.Sh($"chown -R 1000:1000 '{sb.P("/home/bob")}'");

        var r = sb.Aica("recover");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(persistentProfile, File.ReadAllText(sb.P("/data/users/bob/dotfiles/.profile"))); // the persistent one wins
        var backup = Directory.GetDirectories(sb.P("/data/admin/backups"), "dotfiles-bob_*").Single();
        Assert.Equal("ssd copy\n", File.ReadAllText(Path.Combine(backup, ".profile")));
        Assert.Equal("set nu\n", File.ReadAllText(sb.P("/data/users/bob/dotfiles/.vimrc"))); // no persistent copy: the SSD one moves in
        Assert.Equal(UserUnitSpecs.Ed25519 + "\n" + other + "\n", File.ReadAllText(sb.P("/data/users/bob/dotfiles/.ssh/authorized_keys")));
        Assert.Equal("Host *\n", File.ReadAllText(sb.P("/data/users/bob/dotfiles/.ssh/config")));
        Assert.False(Path.Exists(sb.P("/data/users/bob/dotfiles/.ssh/.ssh")));
        foreach (var d in new[] { ".profile", ".vimrc", ".ssh" })
            Assert.Equal($"/data/users/bob/dotfiles/{d}", new FileInfo(sb.P($"/home/bob/{d}")).LinkTarget);
        var steady = Snapshot(sb);
        Assert.Equal(0, sb.Aica("recover").ExitCode);
        Assert.Equal(steady, Snapshot(sb));
    }

    [Fact]
    public void A_members_huggingface_token_is_private_from_the_start_and_doctor_warns_about_one_that_is_not()
    {
        using var sb = Sandbox.Initialised();
        // uids no other spec runs processes as: user remove and migrate refuse users with processes
        Assert.Equal(0, sb.Aica("user", "add", "alice", "--uid", "3998").ExitCode);
        Assert.Equal(0, sb.Aica("user", "add", "bob", "--uid", "3997").ExitCode);
        var uid = int.Parse(Tools.Sh($"stat -c %u '{sb.P("/data/users/alice")}'").StdOut.Trim());
        var bobUid = int.Parse(Tools.Sh($"stat -c %u '{sb.P("/data/users/bob")}'").StdOut.Trim());
        Assert.Equal("alice:gpu-users 2700 directory", sb.Stat("/data/users/alice/.cache/huggingface"));
        Assert.Equal("alice:gpu-users 2750 directory", sb.Stat("/data/users/alice/.cache"));
        // huggingface_hub writes the token with the member's umask 002: 0664. Another member still cannot read it.
        var token = sb.P("/data/users/alice/.cache/huggingface/token");
        File.WriteAllText(token, "hf_secret");
        Tools.Sh($"chown {uid}:{uid} '{token}' && chmod 664 '{token}'");
        var peek = Tools.Run("setpriv", ["--reuid", bobUid.ToString(), "--regid", bobUid.ToString(), "--groups", "2500", "cat", token]);
        Assert.NotEqual(0, peek.ExitCode);
        Assert.DoesNotContain("hf_secret", peek.StdOut);
        Assert.Contains("[PASS] users.hf-token", sb.Aica("doctor", "-v").StdOut);
        // A folder opened up (or made by a tool before aica): doctor names the token, and user add leaves the folder as it is.
        Tools.Sh($"chmod 2775 '{sb.P("/data/users/alice/.cache/huggingface")}'");
        Assert.Equal(0, Tools.Run("setpriv", ["--reuid", bobUid.ToString(), "--regid", bobUid.ToString(), "--groups", "2500", "cat", token]).ExitCode);
        var doctor = sb.Aica("doctor", "-v").StdOut;
        Assert.Contains("[WARN] users.hf-token", doctor);
        Assert.Contains("/data/users/alice/.cache/huggingface/token", doctor);
        Assert.Equal(0, sb.Aica("user", "add", "alice").ExitCode);
        Assert.Equal("alice:gpu-users 2775 directory", sb.Stat("/data/users/alice/.cache/huggingface"));
    }

    [Fact]
    public void Recover_gives_existing_symlink_users_the_private_huggingface_folder_and_leaves_a_users_own_cache_link_alone()
    {
        using var sb = Sandbox.Initialised();
        sb.AddUser("alice", 3981);
        sb.AddUser("carol", 3982);
        sb.AddUser("bob", 3983, layout: "hybrid");
        Directory.CreateDirectory(sb.P("/data/users/carol"));
        File.CreateSymbolicLink(sb.P("/data/users/carol/.cache"), "/tmp/carol-cache"); // carol keeps her cache on the SSD
        var r = sb.Aica("recover");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("alice:gpu-users 2700 directory", sb.Stat("/data/users/alice/.cache/huggingface"));
        Assert.Equal("/tmp/carol-cache", new FileInfo(sb.P("/data/users/carol/.cache")).LinkTarget);
        Assert.False(Directory.Exists(sb.P("/data/users/bob/.cache"))); // a hybrid home is the user's alone already
        var steady = JsonDocument.Parse(sb.Aica("recover", "--dry-run", "--json").StdOut).RootElement;
        Assert.Equal(0, steady.GetProperty("actions").GetArrayLength()); // steady: nothing left to do
    }

    [Fact]
    public void Add_adopts_an_existing_account_without_changing_uid_password_or_shell()
    {
        using var sb = Sandbox.Initialised();
        Tools.Sh($"groupadd -P '{sb.Root}' -g 4100 dora && useradd -P '{sb.Root}' -u 4100 -g 4100 -s /bin/sh -p 'HASH' -d /home/dora -M dora");
        var shadow = File.ReadAllLines(sb.P("/etc/shadow")).Single(l => l.StartsWith("dora:"));
        Assert.Equal(2, sb.Aica("user", "add", "dora", "--uid", "4200").ExitCode);
        var r = sb.Aica("user", "add", "dora");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("adopted", r.StdOut);
        Assert.Contains("dora:gpu-users:4100:4100:/bin/sh:symlink", File.ReadAllText(sb.P("/data/config/users.txt")));
        Assert.Equal(shadow, File.ReadAllLines(sb.P("/etc/shadow")).Single(l => l.StartsWith("dora:")));
        Assert.Contains("dora:x:4100:4100::/home/dora:/bin/sh", File.ReadAllText(sb.P("/etc/passwd")));
    }

    [Fact]
    public async Task Two_concurrent_adds_are_both_registered()
    {
        using var sb = Sandbox.Initialised();
        Process Start(string user)
        {
            var psi = new ProcessStartInfo(Tools.AicaBin) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "--root", sb.Root, "user", "add", user }) psi.ArgumentList.Add(a);
            return Process.Start(psi)!;
        }
        using var p1 = Start("ann");
        using var p2 = Start("ben");
        var ct = TestContext.Current.CancellationToken;
        var o1 = p1.StandardOutput.ReadToEndAsync(ct);
        var o2 = p2.StandardOutput.ReadToEndAsync(ct);
        var e1 = p1.StandardError.ReadToEndAsync(ct);
        var e2 = p2.StandardError.ReadToEndAsync(ct);
        await Task.WhenAll(p1.WaitForExitAsync(ct), p2.WaitForExitAsync(ct));
        Assert.True(p1.ExitCode == 0, await o1 + await e1);
        Assert.True(p2.ExitCode == 0, await o2 + await e2);
        var reg = File.ReadAllText(sb.P("/data/config/users.txt"));
        Assert.Contains("ann:gpu-users:", reg);
        Assert.Contains("ben:gpu-users:", reg);
        Assert.Contains("umask 002", File.ReadAllText(sb.P("/data/users/ann/.profile"))); // no /etc/skel here: the login rc is still made
        var uids = reg.Split('\n').Where(l => l.StartsWith("ann:") || l.StartsWith("ben:")).Select(l => l.Split(':')[2]).ToList();
        Assert.Equal(2, uids.Distinct().Count());
        var passwd = File.ReadAllText(sb.P("/etc/passwd"));
        Assert.Matches("(?m)^ann:x:", passwd);
        Assert.Matches("(?m)^ben:x:", passwd);
        Assert.Matches("(?m)^gpu-users:x:2500:(ann,ben|ben,ann)$", File.ReadAllText(sb.P("/etc/group")));
    }

    [Fact]
    public void Remove_refuses_root_system_accounts_the_invoking_admin_busy_users_and_a_missing_yes()
    {
        using var sb = Sandbox.Initialised();
        sb.AddUser("bob", 3992);
        Tools.Sh($"useradd -P '{sb.Root}' -u 999 -M sysacct");
        var before = Snapshot(sb);
        Assert.Equal(2, sb.Aica("user", "remove", "root", "--yes").ExitCode);
        Assert.Equal(3, sb.Aica("user", "remove", "sysacct", "--yes").ExitCode);
        Assert.Equal(2, sb.Aica("user", "remove", "nobody-here", "--yes").ExitCode);
        var noYes = sb.Aica("user", "remove", "bob");
        Assert.Equal(2, noYes.ExitCode);
        Assert.Contains("--yes", noYes.StdErr);
        var self = Tools.Run(Tools.AicaBin, ["--root", sb.Root, "user", "remove", "bob", "--yes"], new Dictionary<string, string> { ["SUDO_USER"] = "bob" });
        Assert.Equal(3, self.ExitCode);
        // An admin who became root with su - (no SUDO_*): the session's login uid is theirs.
        // (Setting it needs CAP_AUDIT_CONTROL and an audit-enabled kernel: exit 99 where the runner lacks them.)
        var loggedIn = Tools.Run("sh", ["-c", $"echo 3992 2>/dev/null > /proc/self/loginuid || exit 99; exec '{Tools.AicaBin}' --root '{sb.Root}' user remove bob --yes"]);
        if (loggedIn.ExitCode != 99)
        {
            Assert.True(loggedIn.ExitCode == 3, loggedIn.ToString());
            Assert.Contains("the admin running this command", loggedIn.StdErr);
        }
        using (var busy = Process.Start("setpriv", ["--reuid=3992", "--regid=3992", "--clear-groups", "sleep", "60"]))
        {
            try
            {
                var r = sb.Aica("user", "remove", "bob", "--yes");
                Assert.True(r.ExitCode == 3, r.ToString());
                Assert.Contains("running process", r.StdErr);
            }
            finally { busy.Kill(); busy.WaitForExit(); }
        }
        Assert.Equal(before, Snapshot(sb));
    }

    [Fact]
    public void Remove_is_a_literal_match_purge_moves_data_to_a_backup_and_the_uid_is_retired()
    {
        using var sb = Sandbox.Initialised();
        sb.AddUser("bob", 3002);
        sb.AddUser("bob2", 3003);
        File.AppendAllText(sb.P("/data/config/users.txt"), "b.b:gpu-users\n# bob's note\n");
        sb.Aica("recover"); // exit 1: the b.b line is reported; the rest recovers
        File.WriteAllText(sb.P("/data/users/bob/thesis.tex"), "precious");
        var r = sb.Aica("user", "remove", "bob", "--purge", "--yes");
        Assert.True(r.ExitCode == 0, r.ToString());
        var reg = File.ReadAllText(sb.P("/data/config/users.txt"));
        Assert.DoesNotContain("\nbob:", reg);
        Assert.Contains("bob2:gpu-users:3003:3003:/bin/bash:symlink", reg);
        Assert.Contains("b.b:gpu-users\n# bob's note\n", reg);
        Assert.Matches(@"# retired uid 3002 \(bob\) \d{4}-", reg);
        Assert.DoesNotContain("bob:", File.ReadAllText(sb.P("/etc/passwd")));
        Assert.False(Path.Exists(sb.P("/home/bob")));
        Assert.False(Path.Exists(sb.P("/data/users/bob")));
        var backup = Directory.GetDirectories(sb.P("/data/admin/backups"), "removed-bob_*").Single();
        Assert.Equal("precious", File.ReadAllText(Path.Combine(backup, "data/thesis.tex")));

        Assert.Equal(2, sb.Aica("user", "add", "carl", "--uid", "3002").ExitCode);
        Assert.Equal(0, sb.Aica("user", "add", "carl").ExitCode);
        Assert.DoesNotContain("carl:gpu-users:3002:", File.ReadAllText(sb.P("/data/config/users.txt")));
        // bob2 (and b.b) untouched: account, private group, data, home link.
        Assert.Matches("(?m)^bob2:x:3003:3003:", File.ReadAllText(sb.P("/etc/passwd")));
        Assert.Matches("(?m)^bob2:x:3003:", File.ReadAllText(sb.P("/etc/group")));
        Assert.Equal("bob2:gpu-users 2750 directory", sb.Stat("/data/users/bob2"));
        Assert.Equal("/data/users/bob2", new FileInfo(sb.P("/home/bob2")).LinkTarget);
        Assert.DoesNotMatch("(?m)^bob:", File.ReadAllText(sb.P("/data/config/users.txt")));
    }

    [Fact]
    public void Remove_without_purge_keeps_the_data_moves_the_users_ssd_files_to_a_backup_and_a_new_uid_cannot_inherit_the_data()
    {
        using var sb = Sandbox.Initialised();
        Assert.Equal(0, sb.Aica("user", "add", "hana", "--layout", "hybrid").ExitCode);
        File.WriteAllText(sb.P("/home/hana/scratch"), "on the SSD\n");
        File.WriteAllText(sb.P("/data/users/hana/thesis.tex"), "precious\n");
        var dry = sb.Aica("user", "remove", "hana", "--dry-run");
        Assert.True(dry.ExitCode == 0, dry.ToString());
        Assert.Contains("move /home/hana (1 entries of the user's)", dry.StdOut);

        var r = sb.Aica("user", "remove", "hana", "--yes");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.False(Path.Exists(sb.P("/home/hana")));
        Assert.Equal("precious\n", File.ReadAllText(sb.P("/data/users/hana/thesis.tex"))); // without --purge the data stays
        Assert.Equal("1000:gpu-users 2750 directory", sb.Stat("/data/users/hana"));
        var backup = Directory.GetDirectories(sb.P("/data/admin/backups"), "removed-hana_*").Single();
        Assert.Equal("on the SSD\n", File.ReadAllText(Path.Combine(backup, "home/scratch"))); // nothing the user made is deleted
        Assert.DoesNotMatch("(?m)^hana:", File.ReadAllText(sb.P("/etc/passwd")));
        Assert.DoesNotMatch("(?m)^hana:", File.ReadAllText(sb.P("/etc/group")));
        var reg = File.ReadAllText(sb.P("/data/config/users.txt"));
        Assert.DoesNotMatch("(?m)^hana:", reg);
        Assert.Matches(@"(?m)^# retired uid 1000 \(hana\) ", reg);
        var list = JsonDocument.Parse(sb.Aica("user", "list", "--json").StdOut).RootElement.GetProperty("users").EnumerateArray()
            .Single(u => u.GetProperty("name").GetString() == "hana");
        Assert.Equal("orphan-data", list.GetProperty("status").GetString());

        // Someone else under the old name with another uid would inherit the files: refused, nothing created.
        var before = Snapshot(sb);
        var clash = sb.Aica("user", "add", "hana", "--uid", "4000");
        Assert.True(clash.ExitCode == 3, clash.ToString());
        Assert.Contains("belongs to uid 1000", clash.StdErr);
        Assert.Equal(before, Snapshot(sb));
        // The returning user gets the own uid back, and with it the data.
        var back = sb.Aica("user", "add", "hana");
        Assert.True(back.ExitCode == 0, back.ToString());
        Assert.Contains("hana:gpu-users:1000:1000:", File.ReadAllText(sb.P("/data/config/users.txt")));
    }

    [Fact]
    public void List_joins_the_registry_with_reality()
    {
        using var sb = Sandbox.WithUsers("alice");
        File.AppendAllText(sb.P("/data/config/users.txt"), "ghost:gpu-users:3005:3005:/bin/bash:symlink\nodd:gpu-users:3009:3009:/bin/bash:symlink\n");
        Tools.Sh($"groupadd -P '{sb.Root}' -g 3006 hand && useradd -P '{sb.Root}' -u 3006 -g 3006 -G gpu-users -M hand");
        Tools.Sh($"groupadd -P '{sb.Root}' -g 3010 odd && useradd -P '{sb.Root}' -u 3010 -g 3010 -G gpu-users -M odd");
        Directory.CreateDirectory(sb.P("/data/users/gone"));
        var rows = JsonDocument.Parse(sb.Aica("user", "list", "--json").StdOut).RootElement.GetProperty("users").EnumerateArray()
            .ToDictionary(u => u.GetProperty("name").GetString()!, u => u.GetProperty("status").GetString());
        Assert.Equal("ok", rows["alice"]);
        Assert.Equal("missing-account", rows["ghost"]);
        Assert.Equal("unregistered", rows["hand"]);
        Assert.Equal("id-mismatch", rows["odd"]);
        Assert.Equal("orphan-data", rows["gone"]);
        var human = sb.Aica("user", "list");
        Assert.Contains("[WARN] hand", human.StdErr);
    }
}
