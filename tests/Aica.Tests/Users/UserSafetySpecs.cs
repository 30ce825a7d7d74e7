using Aica.Tests.Infra;

namespace Aica.Tests.Users;

/// <summary>
/// Attack tests (SPEC §6.1–2): links planted by a member before add, fix, recover or migrate never lead aica outside
/// /data/users/U and /home/U, and the user is reported as tampered. The victim is a host folder outside the sandbox.
/// </summary>
[Trait("level", "blackbox")]
public sealed class UserSafetySpecs : IDisposable
{
    private readonly string _victim = Directory.CreateTempSubdirectory("aica-victim-").FullName;

    public UserSafetySpecs()
    {
        File.WriteAllText(Path.Combine(_victim, "shadow"), "secret");
        Tools.Sh($"chmod 600 '{_victim}/shadow'; chmod 755 '{_victim}'");
    }

    public void Dispose() => Directory.Delete(_victim, true);

    private string Victim() => Tools.Sh($"cd '{_victim}' && find . -printf '%p %y %m %U:%G %s %T@ %C@\\n' | sort; cat shadow").StdOut;

    private static string Key(Sandbox sb) => UserCommandSpecs.KeyFile(sb, UserUnitSpecs.Ed25519 + "\n");

    [Fact]
    public void Links_planted_before_add_are_never_followed_and_reported_as_tampering()
    {
        using var sb = Sandbox.Initialised();
        var before = Victim();
        Directory.CreateDirectory(sb.P("/data/users/dave"));
        File.CreateSymbolicLink(sb.P("/data/users/dave/dotfiles"), _victim);
        File.CreateSymbolicLink(sb.P("/data/users/dave/evil"), "/etc/shadow");
        var r = sb.Aica("user", "add", "dave", "--layout", "hybrid", "--pubkey-file", Key(sb));
        Assert.Contains("tampered", r.StdOut);
        Assert.Equal(before, Victim());
        Assert.Equal("dave:gpu-users 2750 directory", sb.Stat("/data/users/dave/dotfiles"));
        Assert.Equal("root:shadow", Tools.Sh("stat -c %U:%G /etc/shadow").StdOut.Trim());
        Assert.True(File.Exists(sb.P("/data/users/dave/dotfiles/.ssh/authorized_keys")));
        Assert.Contains("dave:gpu-users:", File.ReadAllText(sb.P("/data/config/users.txt")));
    }

    [Fact]
    public void Links_planted_before_recover_are_replaced_or_reported_and_nothing_is_created_outside()
    {
        using var sb = Sandbox.Initialised();
        Assert.Equal(0, sb.Aica("user", "add", "bob", "--layout", "hybrid").ExitCode);
        var before = Victim();
        File.Delete(sb.P("/data/users/bob/dotfiles/.profile"));
        File.CreateSymbolicLink(sb.P("/data/users/bob/dotfiles/.profile"), Path.Combine(_victim, "created"));
        File.CreateSymbolicLink(sb.P("/data/users/bob/dotfiles/.bashrc"), Path.Combine(_victim, "created2"));
        File.Delete(sb.P("/home/bob/.ssh")); // aica's link
        File.CreateSymbolicLink(sb.P("/home/bob/.ssh"), _victim); // ~/.ssh pointing at another directory
        var r = sb.Aica("recover");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("tampered: /data/users/bob/dotfiles/.profile is a symbolic link", r.All);
        Assert.Equal(before, Victim());
        Assert.Equal("/data/users/bob/dotfiles/.ssh", new FileInfo(sb.P("/home/bob/.ssh")).LinkTarget);

        // The whole dotfiles/ swapped for a link to a system-like directory: the link goes, a directory comes back.
        Tools.Sh($"rm -rf '{sb.P("/data/users/bob/dotfiles")}'");
        File.CreateSymbolicLink(sb.P("/data/users/bob/dotfiles"), _victim);
        r = sb.Aica("recover");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("tampered", r.StdOut);
        Assert.Equal(before, Victim());
        Assert.Equal("bob:gpu-users 2750 directory", sb.Stat("/data/users/bob/dotfiles"));
        Assert.Equal(0, sb.Aica("doctor", "--user", "bob").ExitCode);
    }

    [Fact]
    public void Add_with_a_key_replaces_an_ssh_link_to_another_directory_and_writes_nothing_there()
    {
        using var sb = Sandbox.Initialised();
        Assert.Equal(0, sb.Aica("user", "add", "alice").ExitCode);
        Directory.Delete(sb.P("/data/users/alice/.ssh"));
        File.CreateSymbolicLink(sb.P("/data/users/alice/.ssh"), _victim);
        var before = Victim();
        var r = sb.Aica("user", "add", "alice", "--pubkey-file", Key(sb));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(before, Victim());
        Assert.Equal("alice:gpu-users 2700 directory", sb.Stat("/data/users/alice/.ssh"));
        Assert.Equal("alice:gpu-users 600 regular file", sb.Stat("/data/users/alice/.ssh/authorized_keys"));

        // authorized_keys itself a link: tampered, exit 1, nothing written through it.
        File.Delete(sb.P("/data/users/alice/.ssh/authorized_keys"));
        File.CreateSymbolicLink(sb.P("/data/users/alice/.ssh/authorized_keys"), Path.Combine(_victim, "shadow"));
        r = sb.Aica("user", "add", "alice", "--pubkey-file", Key(sb));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("tampered", r.All);
        Assert.Equal(before, Victim());
    }

    [Fact]
    public void Fix_never_follows_a_planted_link_nor_changes_a_foreign_hard_link_and_reports_tampering()
    {
        using var sb = Sandbox.WithUsers("alice");
        sb.Aica("recover");
        File.CreateSymbolicLink(sb.P("/data/users/alice/evil"), Path.Combine(_victim, "shadow"));
        File.CreateSymbolicLink(sb.P("/data/users/alice/etc-shadow"), "/etc/shadow");
        File.WriteAllText(sb.P("/data/admin/secret"), "root only");
        Tools.Sh($"chmod 600 '{sb.P("/data/admin/secret")}' && ln '{sb.P("/data/admin/secret")}' '{sb.P("/data/users/alice/hl")}'");
        // Another member's group-writable file hard-linked in: fix must not hand alice its ownership.
        sb.AddUser("bob", 3002);
        sb.Aica("recover");
        File.WriteAllText(sb.P("/data/users/bob/notes.txt"), "bob's");
        Tools.Sh($"chown 3002:3002 '{sb.P("/data/users/bob/notes.txt")}' && chmod 664 '{sb.P("/data/users/bob/notes.txt")}' && ln '{sb.P("/data/users/bob/notes.txt")}' '{sb.P("/data/users/alice/bobs")}'");
        var before = Victim();
        var r = sb.Aica("user", "fix", "alice", "--json");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("etc-shadow -> /etc/shadow", r.StdOut);
        Assert.Contains("hl (hard link owned by uid 0", r.StdOut);
        Assert.Contains("bobs (hard link owned by uid 3002", r.StdOut);
        Assert.Equal("3002:3002 664", Tools.Sh($"stat -c '%u:%g %a' '{sb.P("/data/users/bob/notes.txt")}'").StdOut.Trim());
        Assert.Equal(before, Victim());
        Assert.Equal("root:root 600 regular file", sb.Stat("/data/admin/secret"));
        Assert.Equal("root:shadow", Tools.Sh("stat -c %U:%G /etc/shadow").StdOut.Trim());

        // The user's data dir itself swapped for a link: refused, exit 3, the target untouched.
        Tools.Sh($"mv '{sb.P("/data/users/alice")}' '{sb.P("/data/users/.alice-old")}'");
        File.CreateSymbolicLink(sb.P("/data/users/alice"), _victim);
        r = sb.Aica("user", "fix", "alice");
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("tampered", r.StdErr);
        Assert.Equal(before, Victim());
    }

    [Fact]
    public void Migrate_copies_planted_links_as_links_and_reports_tampering()
    {
        using var sb = Sandbox.Initialised();
        Assert.Equal(0, sb.Aica("user", "add", "alice").ExitCode);
        File.CreateSymbolicLink(sb.P("/data/users/alice/evil"), "/etc/shadow");
        File.CreateSymbolicLink(sb.P("/data/users/alice/.vimrc"), Path.Combine(_victim, "created"));
        var before = Victim();
        var r = sb.Aica("user", "migrate", "alice", "--to", "hybrid", "--yes");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("tampered", r.All);
        Assert.Equal(before, Victim());
        Assert.Equal(Path.Combine(_victim, "created"), new FileInfo(sb.P("/data/users/alice/dotfiles/.vimrc")).LinkTarget);
        r = sb.Aica("user", "migrate", "alice", "--rollback", "--yes");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(before, Victim());

        // dotfiles/ planted as a link before a migration: refused, nothing changed.
        File.CreateSymbolicLink(sb.P("/data/users/alice/dotfiles"), _victim);
        var snap = UserCommandSpecs.Snapshot(sb);
        r = sb.Aica("user", "migrate", "alice", "--to", "hybrid", "--yes");
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("tampered", r.StdErr);
        Assert.Equal(snap, UserCommandSpecs.Snapshot(sb));
        Assert.Equal(before, Victim());
    }
}
