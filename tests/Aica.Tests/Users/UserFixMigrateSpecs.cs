using System.Text.Json;
using Aica.Services;
using Aica.Site;
using Aica.Tests.Infra;
using Aica.Users;
using Bogus;

namespace Aica.Tests.Users;

/// <summary>user fix (only what is wrong, no mode widened) and user migrate (both ways, exact rollback, kill in the middle).</summary>
[Trait("level", "blackbox")]
public sealed class UserFixMigrateSpecs
{
    /// <summary>/home and /data/users as they matter to a user: types, modes, owners, sizes, file times, link targets, contents.</summary>
    private static string Homes(Sandbox sb) => Tools.Sh("cd '" + sb.Root + "' && { " +
        @"find home data/users \( -type d -printf '%p d %m %U:%G\n' \) -o \( -type l -printf '%p l %U:%G %l\n' \) -o -printf '%p %y %m %U:%G %s %T@\n'; " +
        "find home data/users -type f -exec sha256sum {} +; } | sort").StdOut;

    [Fact]
    public void Fix_changes_only_what_is_wrong_and_never_widens_a_mode()
    {
        using var sb = Sandbox.WithUsers("alice");
        sb.Aica("recover");
        var f = new Faker { Random = new Randomizer(42) };
        var d = sb.P("/data/users/alice");
        for (var i = 0; i < 30; i++)
        {
            var dir = Path.Combine(d, "proj", f.Random.AlphaNumeric(3));
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, f.System.FileName()), f.Lorem.Sentence());
        }
        Directory.CreateDirectory(Path.Combine(d, "private"));
        File.WriteAllText(Path.Combine(d, "private/key"), "k");
        File.WriteAllText(Path.Combine(d, "run.sh"), "#!/bin/sh\n");
        Tools.Sh($"chown -R 3001:3001 '{d}/proj' '{d}/private' '{d}/run.sh'; chmod 700 '{d}/private'; chmod 600 '{d}/private/key'; chmod 750 '{d}/run.sh'; chown root '{d}/proj'");
        // Already right: must not be touched at all (same ctime: no chown, no chmod).
        Directory.CreateDirectory(Path.Combine(d, "ok"));
        File.WriteAllText(Path.Combine(d, "ok/right.txt"), "r");
        Tools.Sh($"chown -R 3001:2500 '{d}/ok' && chmod 2750 '{d}/ok'");
        string Ctimes() => Tools.Sh($"stat -c '%n %Z.%z' '{d}/ok' '{d}/ok/right.txt'").StdOut;
        var ctimes = Ctimes();
        string Modes() => Tools.Sh($"cd '{d}' && find . ! -type l -printf '%p %y %m\\n' | sort").StdOut;
        var modes = Modes();

        var dry = JsonDocument.Parse(sb.Aica("user", "fix", "alice", "--dry-run", "--json").StdOut).RootElement;
        Assert.True(dry.GetProperty("changed").GetInt64() > 30);
        Assert.Equal(modes, Modes());

        var r = JsonDocument.Parse(sb.Aica("user", "fix", "alice", "--json").StdOut).RootElement;
        Assert.Equal(dry.GetProperty("changed").GetInt64(), r.GetProperty("changed").GetInt64());
        Assert.Equal(1, r.GetProperty("owner_fixed").GetInt64());
        Assert.Equal("", Tools.Sh($"find '{d}' ! -uid 3001 -o ! -gid 2500").StdOut.Trim());
        Assert.Equal("alice:gpu-users 2700 directory", sb.Stat("/data/users/alice/private")); // 0700 kept (setgid added for the group)
        Assert.Equal("alice:gpu-users 600 regular file", sb.Stat("/data/users/alice/private/key"));
        Assert.Equal("alice:gpu-users 750 regular file", sb.Stat("/data/users/alice/run.sh"));
        // File modes are never touched; directories only gain setgid.
        var expected = modes.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l =>
        {
            var f = l.Split(' ');
            return f[1] == "d" ? $"{f[0]} d {Convert.ToString(Convert.ToInt32(f[2], 8) | 0x400, 8)}" : l;
        });
        Assert.Equal(expected, Modes().Split('\n', StringSplitOptions.RemoveEmptyEntries));

        Assert.Equal(ctimes, Ctimes());
        var again = JsonDocument.Parse(sb.Aica("user", "fix", "alice", "--json").StdOut).RootElement;
        Assert.Equal(0, again.GetProperty("changed").GetInt64());
        Assert.Equal(0, sb.Aica("recover").ExitCode); // fix and recover agree
    }

    [Fact]
    public void Fix_refuses_when_the_registered_uid_is_not_the_accounts_and_changes_nothing()
    {
        using var sb = Sandbox.WithUsers("alice");
        sb.AddUser("carol", 3005);
        sb.Aica("recover");
        File.WriteAllText(sb.P("/data/users/alice/notes"), "n");
        Tools.Sh($"chown 3001:3001 '{sb.P("/data/users/alice/notes")}'");
        // The registry says 3005 (carol's uid) for alice; the account says 3001.
        var reg = File.ReadAllText(sb.P("/data/config/users.txt")).Replace("alice:gpu-users:3001:3001:", "alice:gpu-users:3005:3001:");
        File.WriteAllText(sb.P("/data/config/users.txt"), reg);
        var before = UserCommandSpecs.Snapshot(sb);
        var r = sb.Aica("user", "fix", "alice");
        Assert.True(r.ExitCode == 3, r.ToString());
        Assert.Equal(before, UserCommandSpecs.Snapshot(sb));

        // Registered, no account, and the recorded uid now someone else's.
        File.WriteAllText(sb.P("/data/config/users.txt"), reg + "dan:gpu-users:3001:3001:/bin/bash:symlink\n");
        Directory.CreateDirectory(sb.P("/data/users/dan"));
        before = UserCommandSpecs.Snapshot(sb);
        r = sb.Aica("user", "fix", "dan");
        Assert.True(r.ExitCode == 3, r.ToString());
        Assert.Equal(before, UserCommandSpecs.Snapshot(sb));
    }

    /// <summary>Ids of the failing doctor checks for a user.</summary>
    private static List<string> DoctorFails(Sandbox sb, string user) =>
        JsonDocument.Parse(sb.Aica("doctor", "--user", user, "--json").StdOut).RootElement.GetProperty("checks").EnumerateArray()
            .Where(c => c.GetProperty("status").GetString() == "fail").Select(c => c.GetProperty("id").GetString()!).ToList();

    private static void SymlinkUser(Sandbox sb)
    {
        Assert.Equal(0, sb.Aica("user", "add", "alice", "--pubkey-file", UserCommandSpecs.KeyFile(sb, UserUnitSpecs.Ed25519 + "\n")).ExitCode);
        File.WriteAllText(sb.P("/data/users/alice/.bashrc"), "alias ll='ls -l'\n");
        File.WriteAllText(sb.P("/data/users/alice/.gitconfig"), "[user]\n\tname = Alice\n");
        Directory.CreateDirectory(sb.P("/data/users/alice/proj"));
        File.WriteAllText(sb.P("/data/users/alice/proj/train.py"), "print(1)\n");
        Tools.Sh($"chown -R 1000:2500 '{sb.P("/data/users/alice")}'; chmod 640 '{sb.P("/data/users/alice/.gitconfig")}'; touch -d '2020-01-02 03:04:05' '{sb.P("/data/users/alice/.bashrc")}'");
    }

    private static void HybridUser(Sandbox sb)
    {
        Assert.Equal(0, sb.Aica("user", "add", "bob", "--layout", "hybrid", "--pubkey-file", UserCommandSpecs.KeyFile(sb, UserUnitSpecs.Ed25519 + "\n")).ExitCode);
        File.WriteAllText(sb.P("/data/users/bob/dotfiles/.vimrc"), "set nu\n");
        File.WriteAllText(sb.P("/home/bob/scratch.txt"), "on the SSD\n");
        Directory.CreateDirectory(sb.P("/home/bob/runs"));
        File.WriteAllText(sb.P("/home/bob/runs/log"), "epoch 1\n");
        File.Delete(sb.P("/home/bob/.gitconfig")); // an SSD copy where the persistent one exists
        File.WriteAllText(sb.P("/home/bob/.gitconfig"), "ssd copy\n");
        File.WriteAllText(sb.P("/data/users/bob/dotfiles/.gitconfig"), "persistent\n");
        // Read by nobody in hybrid; in symlink it is ~/.bash_profile and gets aica's block: rollback must undo that too.
        File.WriteAllText(sb.P("/data/users/bob/.bash_profile"), "# from an earlier life\n");
        Tools.Sh($"chown -R 1000:1000 '{sb.P("/home/bob/scratch.txt")}' '{sb.P("/home/bob/runs")}' '{sb.P("/home/bob/.gitconfig")}'; chown 1000:2500 '{sb.P("/data/users/bob/dotfiles/.vimrc")}' '{sb.P("/data/users/bob/dotfiles/.gitconfig")}' '{sb.P("/data/users/bob/.bash_profile")}'");
    }

    /// <summary>Stands for SIGKILL: thrown from the migration's step seam, nothing in the service catches it or cleans up.</summary>
    private sealed class Killed : Exception;

    /// <summary>
    /// Runs a migration (or rollback) in process and stops it dead right after change step <paramref name="step"/>, as a
    /// kill would: the seam is set by the test assembly only, so no fault hook ships in the product binary.
    /// </summary>
    private static void KilledAfter(Sandbox sb, int step, MigrateOptions o)
    {
        using var s = new AicaServices(new GlobalOptions(Root: sb.Root));
        var migrate = new MigrateService(s) { AfterStep = n => { if (n == step) throw new Killed(); } };
        Assert.ThrowsAsync<Killed>(() => migrate.Run(o, TestContext.Current.CancellationToken)).GetAwaiter().GetResult();
    }

    [Fact]
    public void Migrate_symlink_to_hybrid_and_back_by_rollback_restores_the_original_exactly()
    {
        using var sb = Sandbox.Initialised();
        SymlinkUser(sb);
        var before = Homes(sb);

        var dry = sb.Aica("user", "migrate", "alice", "--to", "hybrid", "--dry-run");
        Assert.True(dry.ExitCode == 0, dry.ToString());
        Assert.Equal(before, Homes(sb));
        Assert.Equal(2, sb.Aica("user", "migrate", "alice", "--to", "hybrid").ExitCode); // no terminal, no --yes: nothing hangs
        Assert.Equal(before, Homes(sb));

        var r = sb.Aica("user", "migrate", "alice", "--to", "hybrid", "--yes");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("/data/users/alice/dotfiles/.bashrc", new FileInfo(sb.P("/home/alice/.bashrc")).LinkTarget);
        Assert.Equal("alias ll='ls -l'\n", File.ReadAllText(sb.P("/data/users/alice/dotfiles/.bashrc"))); // links are absolute: read on the sandbox side
        Assert.Equal("/data/users/alice", new FileInfo(sb.P("/home/alice/data")).LinkTarget);
        Assert.Equal("print(1)\n", File.ReadAllText(sb.P("/data/users/alice/proj/train.py")));
        Assert.Contains("alice:gpu-users:1000:1000:/bin/bash:hybrid", File.ReadAllText(sb.P("/data/config/users.txt")));
        Assert.Equal(0, sb.Aica("doctor", "--user", "alice").ExitCode);
        Assert.Equal(0, sb.Aica("recover").ExitCode);

        r = sb.Aica("user", "migrate", "alice", "--rollback", "--yes");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(before, Homes(sb));
        Assert.Contains("alice:gpu-users:1000:1000:/bin/bash:symlink", File.ReadAllText(sb.P("/data/config/users.txt")));
        Assert.Equal(2, sb.Aica("user", "migrate", "alice", "--rollback", "--yes").ExitCode); // nothing left to roll back
        Assert.Equal(0, sb.Aica("recover").ExitCode);
        Assert.Equal(before, Homes(sb));
    }

    [Fact]
    public void Migrate_hybrid_to_symlink_keeps_ssd_content_and_rollback_restores_the_original_exactly()
    {
        using var sb = Sandbox.Initialised();
        HybridUser(sb);
        var before = Homes(sb);
        var r = sb.Aica("user", "migrate", "bob", "--to", "symlink", "--yes");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("/data/users/bob", new FileInfo(sb.P("/home/bob")).LinkTarget);
        Assert.Equal("on the SSD\n", File.ReadAllText(sb.P("/data/users/bob/scratch.txt")));
        Assert.Equal("epoch 1\n", File.ReadAllText(sb.P("/data/users/bob/runs/log")));
        Assert.Equal("set nu\n", File.ReadAllText(sb.P("/data/users/bob/.vimrc")));
        Assert.Equal("persistent\n", File.ReadAllText(sb.P("/data/users/bob/.gitconfig")));
        Assert.Contains("umask 002", File.ReadAllText(sb.P("/data/users/bob/.bash_profile"))); // bash reads it now instead of .profile
        Assert.Contains("keep the SSD copy /home/bob/.gitconfig only in the journal", r.StdOut);
        Assert.Equal(UserUnitSpecs.Ed25519 + "\n", File.ReadAllText(sb.P("/data/users/bob/.ssh/authorized_keys")));
        Assert.False(Directory.Exists(sb.P("/data/users/bob/dotfiles")));
        Assert.Equal("bob:gpu-users 2700 directory", sb.Stat("/data/users/bob/.cache/huggingface")); // as user add would
        Assert.Equal(0, sb.Aica("doctor", "--user", "bob").ExitCode);
        // The journal: a metadata file naming the recorded paths, and the original SSD home copied before anything moved.
        var journal = Directory.GetDirectories(sb.P("/data/admin/backups"), "migrate-bob_*").Single();
        var meta = File.ReadAllText(Path.Combine(journal, "meta.txt"));
        Assert.Contains("user=bob\nfrom=hybrid\nto=symlink\nstate=done\n", meta);
        var home = meta.Split('\n').Single(l => l.StartsWith("record=") && l.EndsWith(" " + Convert.ToBase64String("/home/bob"u8.ToArray())));
        var saved = Path.Combine(journal, "orig", home.Split(' ')[0]["record=".Length..]);
        Assert.Equal("on the SSD\n", File.ReadAllText(Path.Combine(saved, "scratch.txt")));
        Assert.Equal("epoch 1\n", File.ReadAllText(Path.Combine(saved, "runs/log")));
        Assert.Equal("ssd copy\n", File.ReadAllText(Path.Combine(saved, ".gitconfig")));
        Assert.Equal("root:root 700 directory", sb.Stat(journal[sb.Root.Length..]));

        r = sb.Aica("user", "migrate", "bob", "--rollback", "--yes");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(before, Homes(sb));
        Assert.Equal(["home.dotfile:/home/bob/.gitconfig"], DoctorFails(sb, "bob")); // the original had that SSD copy, and doctor still sees it
    }

    [Fact]
    public void An_account_adopted_with_its_ssd_home_is_moved_onto_data_by_migrate_as_the_fix_says()
    {
        using var sb = Sandbox.Initialised();
        // An account from before aica, with a real home on the SSD holding a dotfile, a file, a folder and a data/ folder.
        Assert.Equal(0, Tools.Sh($"useradd -P '{sb.Root}' -u 3003 -U -m -s /bin/bash carol").ExitCode);
        File.WriteAllText(sb.P("/home/carol/notes.txt"), "keep me\n");
        Directory.CreateDirectory(sb.P("/home/carol/proj/src"));
        File.WriteAllText(sb.P("/home/carol/proj/src/main.py"), "print(1)\n");
        File.WriteAllText(sb.P("/home/carol/.bashrc"), "alias ll='ls -l'\n");
        Directory.CreateDirectory(sb.P("/home/carol/.cache/pip")); // every real home has one: it must move too
        Tools.Sh($"chown -R 3003:3003 '{sb.P("/home/carol")}'");
        var add = sb.Aica("user", "add", "carol");
        Assert.Equal(1, add.ExitCode); // the home link cannot replace a home with content...
        Assert.Contains("aica user migrate carol --to symlink", add.All); // ...and the fix names the command that can
        var listed = JsonDocument.Parse(sb.Aica("user", "list", "--json").StdOut).RootElement.GetProperty("users").EnumerateArray().Single(u => u.GetProperty("name").GetString() == "carol");
        Assert.Equal("home-conflict", listed.GetProperty("status").GetString());
        var before = Homes(sb);

        var r = sb.Aica("user", "migrate", "carol", "--to", "symlink", "--yes");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("symlink (home still a real folder on the SSD) -> symlink", r.StdOut);
        Assert.Equal("/data/users/carol", new FileInfo(sb.P("/home/carol")).LinkTarget);
        Assert.Equal("keep me\n", File.ReadAllText(sb.P("/data/users/carol/notes.txt")));
        Assert.Equal("print(1)\n", File.ReadAllText(sb.P("/data/users/carol/proj/src/main.py")));
        Assert.True(Directory.Exists(sb.P("/data/users/carol/.cache/pip")));
        Assert.Equal("carol:gpu-users 2700 directory", sb.Stat("/data/users/carol/.cache/huggingface")); // as user add would
        Assert.StartsWith("alias ll='ls -l'\n", File.ReadAllText(sb.P("/data/users/carol/.bashrc")));
        Assert.Equal(0, sb.Aica("recover").ExitCode);
        Assert.DoesNotContain("FAIL", sb.Aica("doctor", "--user", "carol").StdOut);
        Assert.Contains("\"status\": \"ok\"", sb.Aica("user", "list", "--json").StdOut);

        // Rollback: the SSD home exactly as it was, nothing left on /data.
        r = sb.Aica("user", "migrate", "carol", "--rollback", "--yes");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(before, Homes(sb));
    }

    [Theory]
    [InlineData("symlink", 1)]
    [InlineData("symlink", 4)]
    [InlineData("hybrid", 2)]
    [InlineData("hybrid", 6)]
    [InlineData("symlink", 8)] // the last step: everything moved, the new layout not yet applied
    [InlineData("hybrid", 10)]
    [InlineData("symlink", 9)] // after the engine applied and verified the new layout, before it is registered
    [InlineData("hybrid", 11)]
    public void A_kill_in_the_middle_of_migrate_then_rollback_gives_the_original_state_back(string from, int killAfter)
    {
        using var sb = Sandbox.Initialised();
        if (from == "symlink") SymlinkUser(sb); else HybridUser(sb);
        var user = from == "symlink" ? "alice" : "bob";
        var before = Homes(sb);
        var registry = File.ReadAllText(sb.P("/data/config/users.txt"));
        KilledAfter(sb, killAfter, new MigrateOptions(user, from == "symlink" ? "hybrid" : "symlink"));
        Assert.NotEqual(before, Homes(sb));
        Assert.Equal(registry, File.ReadAllText(sb.P("/data/config/users.txt")));
        Assert.Equal(3, sb.Aica("user", "migrate", user, "--to", from == "symlink" ? "hybrid" : "symlink", "--yes").ExitCode); // unfinished: roll back first

        var r = sb.Aica("user", "migrate", user, "--rollback", "--yes");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(before, Homes(sb));
        Assert.Equal(registry, File.ReadAllText(sb.P("/data/config/users.txt")));
        Assert.Equal(user == "bob" ? ["home.dotfile:/home/bob/.gitconfig"] : [], DoctorFails(sb, user));
    }

    [Fact]
    public void A_rollback_killed_in_the_middle_can_be_run_again_and_still_restores_the_original()
    {
        using var sb = Sandbox.Initialised();
        SymlinkUser(sb);
        var before = Homes(sb);
        KilledAfter(sb, 3, new MigrateOptions("alice", "hybrid"));
        KilledAfter(sb, 3, new MigrateOptions("alice", null, Rollback: true));
        Assert.NotEqual(before, Homes(sb));
        var r = sb.Aica("user", "migrate", "alice", "--rollback", "--yes");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(before, Homes(sb));
        Assert.Contains("alice:gpu-users:1000:1000:/bin/bash:symlink", File.ReadAllText(sb.P("/data/config/users.txt")));
    }

    [Fact]
    public void Rollback_and_the_unfinished_check_only_read_the_users_own_journal_never_one_of_a_similar_name()
    {
        using var sb = Sandbox.Initialised();
        Assert.Equal(0, sb.Aica("user", "add", "bob").ExitCode);
        Assert.Equal(0, sb.Aica("user", "add", "bob_x").ExitCode);
        File.WriteAllText(sb.P("/data/users/bob_x/.vimrc"), "set nu\n");
        Assert.Equal(0, sb.Aica("user", "migrate", "bob_x", "--to", "hybrid", "--yes").ExitCode);
        var before = Homes(sb);
        var registry = File.ReadAllText(sb.P("/data/config/users.txt"));
        var r = sb.Aica("user", "migrate", "bob", "--rollback", "--yes");
        Assert.True(r.ExitCode == 2, r.ToString()); // bob has no migration; bob_x's journal is not bob's
        Assert.Equal(before, Homes(sb));
        Assert.Equal(registry, File.ReadAllText(sb.P("/data/config/users.txt")));

        // An unfinished migration of bob_x does not block bob.
        KilledAfter(sb, 1, new MigrateOptions("bob_x", "symlink"));
        r = sb.Aica("user", "migrate", "bob", "--to", "hybrid", "--yes");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("bob:gpu-users:1000:1000:/bin/bash:hybrid", File.ReadAllText(sb.P("/data/config/users.txt")));
        Assert.Equal(0, sb.Aica("user", "migrate", "bob_x", "--rollback", "--yes").ExitCode);
        Assert.Equal("set nu\n", File.ReadAllText(sb.P("/data/users/bob_x/dotfiles/.vimrc")));
        Assert.Equal(0, sb.Aica("user", "migrate", "bob", "--rollback", "--yes").ExitCode);
        Assert.Equal("/data/users/bob", new FileInfo(sb.P("/home/bob")).LinkTarget);
        Assert.Equal(0, sb.Aica("doctor", "--user", "bob").ExitCode);
        Assert.Equal(0, sb.Aica("doctor", "--user", "bob_x").ExitCode);
    }
}
