using Aica.Services;
using Aica.Site;
using Aica.Tests.Infra;
using Aica.Users;

namespace Aica.Tests.Users;

/// <summary>
/// user remove, migrate and orphans change things in an order where any failure leaves the whole user or no user
/// (issue "Security" finding 3): checks first, then the backup, then the registry line, then the account. A registry
/// line without its account is what recover recreates at boot, authorized_keys and all.
/// </summary>
public sealed class RemoveOrderSpecs
{
    [Trait("level", "sim")]
    [Fact]
    public void A_hybrid_member_with_a_folder_too_deep_to_back_up_stays_whole_and_once_removed_no_reboot_brings_them_back()
    {
        Require.Root();
        using var sim = new SimServer();
        var r = sim.Boot(Reset.None, """
            $AICA init --gid 2500 -q || exit 10
            /data/bin/aica user add bob --layout hybrid -q || exit 11
            echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl bob@laptop' > /data/users/bob/dotfiles/.ssh/authorized_keys
            cd /home/bob && mkdir -p "$(printf 'd/%.0s' $(seq 300))" && chown -R bob:bob /home/bob/d && cd /
            /data/bin/aica user remove bob --yes > /run/remove.txt 2>&1; echo "remove exit $?"
            id bob > /dev/null 2>&1 && echo "account kept"
            grep -q '^bob:' /data/config/users.txt && echo "registry kept"
            grep -q 'retired uid' /data/config/users.txt || echo "uid not retired"
            test -d /home/bob/d/d/d && test -L /home/bob/.bashrc && echo "home kept"
            echo "backups $(ls /data/admin/backups | grep -c '^removed-bob')"
            cat /run/remove.txt
            echo ---
            rm -rf /home/bob/d
            /data/bin/aica user remove bob --yes > /dev/null 2>&1; echo "second exit $?"
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("remove exit 1\naccount kept\nregistry kept\nuid not retired\nhome kept\nbackups 0\n", r.StdOut);
        Assert.Contains("levels deep", r.StdOut);
        Assert.Contains("nothing was changed", r.StdOut);
        Assert.Contains("second exit 0", r.StdOut);

        var boot = sim.Boot(Reset.Full, """
            /data/bin/aica recover > /dev/null 2>&1; echo "recover exit $?"
            id bob > /dev/null 2>&1 || echo "bob gone"
            test -e /home/bob || echo "no home"
            grep -q '^bob:' /data/config/users.txt || echo "not registered"
            """);
        Assert.True(boot.ExitCode == 0, boot.ToString());
        Assert.Contains("recover exit 0\nbob gone\nno home\nnot registered\n", boot.StdOut);
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Purged_data_too_big_for_the_backup_disk_refuses_before_anything_changes()
    {
        using var sb = Sandbox.Initialised();
        Assert.Equal(0, sb.Aica("user", "add", "bob", "--layout", "hybrid").ExitCode);
        File.WriteAllText(sb.P("/home/bob/scratch"), "on the SSD\n");
        Tools.Sh($"head -c 3000000 /dev/urandom > '{sb.P("/data/users/bob/model.bin")}'");
        var backups = sb.P("/data/admin/backups");
        Directory.CreateDirectory(backups);
        Assert.Equal(0, Tools.Sh($"mount -t tmpfs -o size=1m,mode=0700 aica-test-backups '{backups}'").ExitCode);
        try
        {
            string State() => Tools.Sh($"cd '{sb.P("/")}' && find home/bob data/users/bob data/admin/backups -printf '%s %u %m %p\\n' | sort; grep '^bob:' etc/passwd; grep -c bob data/config/users.txt").StdOut;
            var before = State();
            var r = sb.Aica("user", "remove", "bob", "--purge", "--yes");
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("needed", r.StdErr + r.StdOut);
            Assert.Contains("nothing was changed", r.StdErr + r.StdOut);
            Assert.Equal(before, State());
        }
        finally { Tools.Sh($"umount -l '{backups}'"); }
    }

    /// <summary>userdel refuses (a lock held by another tool, a process started since the check): aica itself changed nothing then.</summary>
    private sealed class FailingUserdel : ProcessRunner
    {
        public override Task<ProcessResult> RunAsync(string program, IEnumerable<string> args, CancellationToken ct = default,
            IReadOnlyDictionary<string, string?>? env = null, string? stdin = null) =>
            program.EndsWith("userdel", StringComparison.Ordinal)
                ? Task.FromResult(new ProcessResult(10, "", "userdel: cannot lock /etc/passwd; try again later."))
                : base.RunAsync(program, args, ct, env, stdin);
    }

    [Trait("level", "blackbox")]
    [Fact]
    public async Task When_userdel_fails_the_home_backup_and_the_registry_line_are_put_back()
    {
        using var sb = Sandbox.Initialised();
        Assert.Equal(0, sb.Aica("user", "add", "bob", "--layout", "hybrid").ExitCode);
        File.WriteAllText(sb.P("/home/bob/scratch"), "on the SSD\n");
        var registry = File.ReadAllText(sb.P("/data/config/users.txt"));
        using (var s = new AicaServices(new GlobalOptions(Root: sb.Root), new FailingUserdel()))
        {
            var e = await Assert.ThrowsAsync<AicaException>(() => new UserService(s).Remove(new UserRemoveOptions("bob", Purge: true), TestContext.Current.CancellationToken));
            Assert.Contains("cannot lock", e.Message);
            Assert.Contains("put back", e.Message);
        }
        Assert.Equal("on the SSD\n", File.ReadAllText(sb.P("/home/bob/scratch")));
        Assert.True(Directory.Exists(sb.P("/data/users/bob/dotfiles")));
        Assert.Contains("bob:gpu-users:1000:1000:/bin/bash:hybrid", File.ReadAllText(sb.P("/data/config/users.txt")));
        Assert.Contains("\nbob:", File.ReadAllText(sb.P("/etc/passwd")));
        Assert.Empty(Directory.GetDirectories(sb.P("/data/admin/backups"), "removed-bob*"));
        Assert.Equal(0, sb.Aica("doctor", "--user", "bob").ExitCode);
        Assert.Equal(0, sb.Aica("user", "remove", "bob", "--purge", "--yes").ExitCode); // the real userdel: gone, all of it
        Assert.DoesNotContain("\nbob:", File.ReadAllText(sb.P("/etc/passwd")));
        Assert.DoesNotMatch("(?m)^bob:", File.ReadAllText(sb.P("/data/config/users.txt")));
        Assert.NotEqual(registry, File.ReadAllText(sb.P("/data/config/users.txt")));
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Migrate_refuses_a_home_it_could_not_journal_before_anything_changes()
    {
        using var sb = Sandbox.Initialised();
        Assert.Equal(0, sb.Aica("user", "add", "bob", "--layout", "hybrid").ExitCode);
        Directory.CreateDirectory(sb.P("/home/bob/" + string.Join("/", Enumerable.Repeat("d", 300))));
        Tools.Sh($"chown -R 1000:1000 '{sb.P("/home/bob/d")}'");
        string State() => Tools.Sh($"cd '{sb.P("/")}' && find home/bob data/users/bob data/admin -printf '%s %u %m %y %p\\n' | sort; cat data/config/users.txt").StdOut;
        var before = State();
        var r = sb.Aica("user", "migrate", "bob", "--to", "symlink", "--yes");
        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains("levels deep", r.StdErr + r.StdOut);
        Assert.Contains("nothing was changed", r.StdErr + r.StdOut);
        Assert.Equal(before, State()); // no journal either: the next migrate is not blocked by an unfinished one
        Tools.Sh($"rm -rf '{sb.P("/home/bob/d")}'");
        r = sb.Aica("user", "migrate", "bob", "--to", "symlink", "--yes");
        Assert.True(r.ExitCode == 0, r.ToString());
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Migrate_to_hybrid_stops_and_reports_a_dotfile_on_both_sides_as_to_symlink_does()
    {
        using var sb = Sandbox.Initialised();
        // An account adopted with its real SSD home; the user edited ~/.bashrc there, and /data holds another copy.
        Assert.Equal(0, Tools.Sh($"useradd -P '{sb.Root}' -u 3003 -U -m -s /bin/bash carol").ExitCode);
        File.WriteAllText(sb.P("/home/carol/.bashrc"), "alias ll='ls -l'  # the SSD edit\n");
        File.WriteAllText(sb.P("/home/carol/notes.txt"), "keep me\n");
        Tools.Sh($"chown -R 3003:3003 '{sb.P("/home/carol")}'");
        sb.Aica("user", "add", "carol"); // registers; the home link cannot replace a home with content (exit 1)
        File.WriteAllText(sb.P("/data/users/carol/.bashrc"), "alias ll='ls -la'\n");
        Tools.Sh($"chown 3003:2500 '{sb.P("/data/users/carol/.bashrc")}'");
        string State() => Tools.Sh($"cd '{sb.P("/")}' && find home/carol data/users/carol -printf '%s %u %m %y %p\\n' | sort; cat data/config/users.txt; ls data/admin/backups").StdOut;
        var before = State();

        var hybrid = sb.Aica("user", "migrate", "carol", "--to", "hybrid", "--yes");
        var symlink = sb.Aica("user", "migrate", "carol", "--to", "symlink", "--yes");
        Assert.True(hybrid.ExitCode == 3, hybrid.ToString());
        Assert.Equal(symlink.ExitCode, hybrid.ExitCode);
        Assert.Contains("already exist in /data/users/carol: /data/users/carol/.bashrc (and /home/carol/.bashrc on the SSD)", hybrid.StdErr + hybrid.StdOut);
        Assert.Contains("already exist in /data/users/carol: /data/users/carol/.bashrc (and /home/carol/.bashrc on the SSD)", symlink.StdErr + symlink.StdOut);
        Assert.Equal(before, State());

        // The same bytes on both sides are no conflict: nothing of the user's is hidden.
        File.Copy(sb.P("/home/carol/.bashrc"), sb.P("/data/users/carol/.bashrc"), true);
        var r = sb.Aica("user", "migrate", "carol", "--to", "hybrid", "--yes");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("alias ll='ls -l'  # the SSD edit\n", File.ReadAllText(sb.P("/data/users/carol/dotfiles/.bashrc")).Split("# >>>")[0]);
    }
}
