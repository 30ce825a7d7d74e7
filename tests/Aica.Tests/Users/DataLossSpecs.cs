using Aica.Tests.Infra;

namespace Aica.Tests.Users;

/// <summary>
/// Bytes aica does not understand are still the user's or the admin's: names and file contents that are not UTF-8
/// survive every rewrite, move, backup and rollback byte for byte (SPEC §4 "nothing an admin typed is ever lost",
/// §5 exact rollback, §6.6 nothing is lost).
/// </summary>
[Trait("level", "blackbox")]
public sealed class DataLossSpecs
{
    private static string Hex(byte[] b) => Convert.ToHexString(b);

    /// <summary>The bytes of a link's target, read on the host side (readlink(2), no decoding).</summary>
    private static string LinkHex(string hostPath) => Tools.Sh($"readlink -n '{hostPath}' | od -An -tx1 | tr -d ' \\n'").StdOut.Trim().ToUpperInvariant();

    [Fact]
    public void Rewrites_of_the_registry_rc_files_and_authorized_keys_keep_bytes_that_are_not_utf8()
    {
        using var sb = Sandbox.Initialised();
        Assert.Equal(0, sb.Aica("user", "add", "alice").ExitCode);
        var d = sb.P("/data/users/alice");
        // Latin-1 text an admin or a user typed: é = \351, ö = \366, ü = \374 (not UTF-8).
        Tools.Sh($"printf '# K\\366nig, room 4\\n' >> '{sb.P("/data/config/users.txt")}'");
        Tools.Sh($"printf '# caf\\351\\nexport A=1\\n' > '{d}/.profile' && printf '# J\\374rgen laptop\\n' > '{d}/.ssh/authorized_keys' && chown 1000:2500 '{d}/.profile' '{d}/.ssh/authorized_keys'");

        var r = sb.Aica("user", "add", "bob"); // rewrites users.txt
        Assert.True(r.ExitCode == 0, r.ToString());
        r = sb.Aica("recover"); // puts aica's block back into .profile
        Assert.True(r.ExitCode == 0, r.ToString());
        r = sb.Aica("user", "add", "alice", "--pubkey-file", UserCommandSpecs.KeyFile(sb, UserUnitSpecs.Ed25519 + "\n")); // adds a key line
        Assert.True(r.ExitCode == 0, r.ToString());

        Assert.Contains(Hex([.. "# K"u8, 0xf6, .. "nig, room 4\n"u8]), Hex(File.ReadAllBytes(sb.P("/data/config/users.txt"))));
        Assert.StartsWith(Hex([.. "# caf"u8, 0xe9, .. "\nexport A=1\n"u8]), Hex(File.ReadAllBytes($"{d}/.profile")));
        Assert.Contains("umask 002", File.ReadAllText($"{d}/.profile"));
        Assert.StartsWith(Hex([.. "# J"u8, 0xfc, .. "rgen laptop\n"u8]), Hex(File.ReadAllBytes($"{d}/.ssh/authorized_keys")));
        Assert.Contains(UserUnitSpecs.Ed25519, File.ReadAllText($"{d}/.ssh/authorized_keys"));
    }

    [Fact]
    public void Migrate_keeps_a_link_target_that_is_not_utf8_and_rollback_restores_it()
    {
        using var sb = Sandbox.Initialised();
        Assert.Equal(0, sb.Aica("user", "add", "bob", "--layout", "hybrid").ExitCode);
        // A link on the SSD (another file system than /data here: the move copies) whose target is Latin-1.
        Tools.Sh($"ln -s \"$(printf 'r\\351sum\\351.pdf')\" '{sb.P("/home/bob/cv")}' && chown -h 1000:1000 '{sb.P("/home/bob/cv")}'");
        var want = Hex([(byte)'r', 0xe9, .. "sum"u8, 0xe9, .. ".pdf"u8]);
        Assert.Equal(want, LinkHex(sb.P("/home/bob/cv")));

        var r = sb.Aica("user", "migrate", "bob", "--to", "symlink", "--yes");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(want, LinkHex(sb.P("/data/users/bob/cv")));

        r = sb.Aica("user", "migrate", "bob", "--rollback", "--yes");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(want, LinkHex(sb.P("/home/bob/cv")));
    }

    [Fact]
    public void Migrate_refuses_names_that_are_not_utf8_instead_of_dropping_them_from_the_users_data()
    {
        using var sb = Sandbox.Initialised();
        Assert.Equal(0, sb.Aica("user", "add", "bob", "--layout", "hybrid").ExitCode);
        var name = "$(printf 'not\\351s')";
        Tools.Sh($"printf 'keep me\\n' > '{sb.P("/data/users/bob/dotfiles")}'/\"{name}\"");
        string Find() => Tools.Sh($"find '{sb.P("/data/users/bob")}' '{sb.P("/home/bob")}' -name \"{name}\" -type f -exec cat {{}} +").StdOut;
        Assert.Equal("keep me\n", Find());

        var r = sb.Aica("user", "migrate", "bob", "--to", "symlink", "--yes");
        Assert.True(r.ExitCode == 3, r.ToString());
        Assert.Contains("not UTF-8", r.All);
        Assert.Equal("keep me\n", Find());
        Assert.Contains("bob:gpu-users:1000:1000:/bin/bash:hybrid", File.ReadAllText(sb.P("/data/config/users.txt")));

        // The same on the SSD side (it used to stop with an unhandled error).
        Tools.Sh($"mv '{sb.P("/data/users/bob/dotfiles")}'/\"{name}\" '{sb.P("/home/bob")}'/");
        r = sb.Aica("user", "migrate", "bob", "--to", "symlink", "--yes");
        Assert.True(r.ExitCode == 3, r.ToString());
        Assert.Equal("keep me\n", Find());
    }

    [Fact]
    public void Recover_never_deletes_a_file_it_cannot_name_when_it_merges_a_real_ssh_directory()
    {
        using var sb = Sandbox.Initialised();
        Assert.Equal(0, sb.Aica("user", "add", "bob", "--layout", "hybrid").ExitCode);
        // The user replaced the ~/.ssh link by a real directory holding a key whose name is Latin-1.
        var name = "$(printf 'id_\\351')";
        Tools.Sh($"rm '{sb.P("/home/bob/.ssh")}' && mkdir '{sb.P("/home/bob/.ssh")}' && printf 'secret\\n' > '{sb.P("/home/bob/.ssh")}'/\"{name}\" && printf 'cfg\\n' > '{sb.P("/home/bob/.ssh/config")}' && chown -R 1000:1000 '{sb.P("/home/bob/.ssh")}'");

        var r = sb.Aica("recover");
        Assert.Equal("/data/users/bob/dotfiles/.ssh", new FileInfo(sb.P("/home/bob/.ssh")).LinkTarget);
        Assert.Equal("cfg\n", File.ReadAllText(sb.P("/data/users/bob/dotfiles/.ssh/config")));
        Assert.Equal("secret\n", Tools.Sh($"find '{sb.P("/data")}' -name \"{name}\" -type f -exec cat {{}} +").StdOut);
        Assert.True(r.ExitCode == 0, r.ToString());
    }

    [Fact]
    public void Migrate_and_rollback_refuse_while_the_user_has_processes_that_could_write_to_what_moves()
    {
        using var sb = Sandbox.Initialised();
        Assert.Equal(0, sb.Aica("user", "add", "bob", "--layout", "hybrid", "--uid", "3993").ExitCode); // a uid no other spec runs processes as
        File.WriteAllText(sb.P("/home/bob/train.log"), "epoch 1\n");
        Tools.Sh($"chown 3993:3993 '{sb.P("/home/bob/train.log")}'");
        // A job of bob's with the log open: a move across file systems copies, then deletes what the job still writes to.
        using var job = System.Diagnostics.Process.Start("setpriv", ["--reuid=3993", "--regid=3993", "--clear-groups", "sleep", "300"]);
        try
        {
            var r = sb.Aica("user", "migrate", "bob", "--to", "symlink", "--yes");
            Assert.True(r.ExitCode == 3, r.ToString());
            Assert.Contains($"pid {job.Id}", r.All);
            Assert.Equal("epoch 1\n", File.ReadAllText(sb.P("/home/bob/train.log")));
            Assert.Empty(Directory.GetDirectories(sb.P("/data/admin/backups"), "migrate-bob_*"));
        }
        finally { job.Kill(); job.WaitForExit(); }

        Assert.Equal(0, sb.Aica("user", "migrate", "bob", "--to", "symlink", "--yes").ExitCode);
        using var job2 = System.Diagnostics.Process.Start("setpriv", ["--reuid=3993", "--regid=3993", "--clear-groups", "sleep", "300"]);
        try
        {
            var r = sb.Aica("user", "migrate", "bob", "--rollback", "--yes");
            Assert.True(r.ExitCode == 3, r.ToString());
            Assert.Equal("epoch 1\n", File.ReadAllText(sb.P("/data/users/bob/train.log")));
        }
        finally { job2.Kill(); job2.WaitForExit(); }
        Assert.Equal(0, sb.Aica("user", "migrate", "bob", "--rollback", "--yes").ExitCode);
        Assert.Equal("epoch 1\n", File.ReadAllText(sb.P("/home/bob/train.log")));
    }

    [Fact]
    public void Migrate_keeps_a_hand_edit_of_the_users_registry_line_made_while_it_ran()
    {
        using var sb = Sandbox.Initialised();
        Assert.Equal(0, sb.Aica("user", "add", "bob", "--layout", "hybrid").ExitCode);
        var users = sb.P("/data/config/users.txt");
        // Another writer holds the registry lock (fcntl, as aica takes it) until its stdin closes.
        var psi = new System.Diagnostics.ProcessStartInfo("python3", ["-c",
            "import fcntl,sys; f=open(sys.argv[1],'a'); fcntl.lockf(f, fcntl.LOCK_EX); print('locked', flush=True); sys.stdin.read()", sb.P("/data/config/.users.txt.lock")])
            { RedirectStandardInput = true, RedirectStandardOutput = true };
        using var holder = System.Diagnostics.Process.Start(psi)!;
        Assert.Equal("locked", holder.StandardOutput.ReadLine());
        using var migrate = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(Tools.AicaBin,
            ["--root", sb.Root, "--wait", "60", "user", "migrate", "bob", "--to", "symlink", "--yes"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        try
        {
            // Once the new layout is on disk, only verification and registering are left: the admin edits bob's line now.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (new FileInfo(sb.P("/home/bob")).LinkTarget is null)
            {
                Assert.True(DateTime.UtcNow < deadline && !migrate.HasExited, "the migration never made the home link");
                TestContext.Current.CancellationToken.WaitHandle.WaitOne(20);
            }
            File.WriteAllText(users, File.ReadAllText(users).Replace("bob:gpu-users:1000:1000:/bin/bash:hybrid", "bob:gpu-users:1000:1000:/bin/sh:hybrid"));
        }
        finally { holder.StandardInput.Close(); holder.WaitForExit(); }
        migrate.WaitForExit();
        Assert.True(migrate.ExitCode == 0, migrate.StandardOutput.ReadToEnd() + migrate.StandardError.ReadToEnd());
        Assert.Contains("bob:gpu-users:1000:1000:/bin/sh:symlink\n", File.ReadAllText(users));
    }

    /// <summary>The value of an extended attribute (python's os.getxattr: no attr tools on a fresh machine), or "none".</summary>
    private static string Xattr(string hostPath, string name) =>
        Tools.Run("python3", ["-c", "import os,sys\ntry: print(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).decode())\nexcept OSError: print('none')", hostPath, name]).StdOut.Trim();

    [Fact]
    public void Moves_and_backups_across_file_systems_keep_extended_attributes()
    {
        using var sb = Sandbox.Initialised();
        Assert.Equal(0, sb.Aica("user", "add", "bob", "--layout", "hybrid").ExitCode);
        Directory.CreateDirectory(sb.P("/home/bob/runs"));
        File.WriteAllText(sb.P("/home/bob/runs/model.bin"), "weights\n");
        Tools.Sh($"chown -R 1000:1000 '{sb.P("/home/bob/runs")}'");
        // user.* attributes (checksums, Samba's DOS attributes...); POSIX ACLs and capabilities are attributes too.
        Tools.Run("python3", ["-c", "import os,sys\nfor p in sys.argv[1:]: os.setxattr(p, 'user.sha256', b'abc123')", sb.P("/home/bob/runs"), sb.P("/home/bob/runs/model.bin")]);
        Assert.Equal("abc123", Xattr(sb.P("/home/bob/runs/model.bin"), "user.sha256"));

        var r = sb.Aica("user", "migrate", "bob", "--to", "symlink", "--yes"); // /home is on another file system than /data here
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("abc123", Xattr(sb.P("/data/users/bob/runs/model.bin"), "user.sha256"));
        Assert.Equal("abc123", Xattr(sb.P("/data/users/bob/runs"), "user.sha256"));

        r = sb.Aica("user", "migrate", "bob", "--rollback", "--yes"); // from the journal's copy
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("abc123", Xattr(sb.P("/home/bob/runs/model.bin"), "user.sha256"));
        Assert.Equal("abc123", Xattr(sb.P("/home/bob/runs"), "user.sha256"));
    }

    [Fact]
    public void A_sparse_file_moved_across_file_systems_stays_sparse_instead_of_filling_data()
    {
        Require.Root();
        using var sb = new Sandbox(); // /data is a 512 MiB tmpfs
        sb.Init();
        Assert.Equal(0, sb.Aica("user", "add", "bob", "--layout", "hybrid").ExitCode);
        // A 1 GiB disk image (twice the size of /data here) with a little data at both ends and in the middle (a VM image, a preallocated dataset file).
        var img = sb.P("/home/bob/disk.img");
        Tools.Sh($"truncate -s 1G '{img}' && printf head | dd of='{img}' conv=notrunc status=none && printf mid | dd of='{img}' bs=1 seek=536870912 conv=notrunc status=none"
            + $" && printf tail | dd of='{img}' bs=1 seek=1073741820 conv=notrunc status=none && chown 1000:1000 '{img}'");
        var sum = Tools.Sh($"sha256sum < '{img}'").StdOut;

        var r = sb.Aica("user", "migrate", "bob", "--to", "symlink", "--yes");
        Assert.True(r.ExitCode == 0, r.ToString());
        var moved = sb.P("/data/users/bob/disk.img");
        Assert.Equal("1073741824", Tools.Sh($"stat -c %s '{moved}'").StdOut.Trim());
        Assert.True(long.Parse(Tools.Sh($"stat -c %b '{moved}'").StdOut.Trim()) < 1024, "the copy is not sparse");
        Assert.Equal(sum, Tools.Sh($"sha256sum < '{moved}'").StdOut);
    }

    [Fact]
    public void Hard_links_moved_across_file_systems_stay_one_file()
    {
        using var sb = Sandbox.Initialised();
        Assert.Equal(0, sb.Aica("user", "add", "bob", "--layout", "hybrid").ExitCode);
        // uv and conda link packages into environments: one file, several names (copied apart, it takes that much more room).
        Tools.Sh($"mkdir -p '{sb.P("/home/bob/.cache/uv")}' '{sb.P("/home/bob/venv/lib")}' && head -c 100000 /dev/zero > '{sb.P("/home/bob/.cache/uv/torch.so")}'"
            + $" && ln '{sb.P("/home/bob/.cache/uv/torch.so")}' '{sb.P("/home/bob/venv/lib/torch.so")}' && chown -R 1000:1000 '{sb.P("/home/bob/.cache")}' '{sb.P("/home/bob/venv")}'");
        string Inodes(string dir) => Tools.Sh($"stat -c %i '{sb.P(dir + "/.cache/uv/torch.so")}' '{sb.P(dir + "/venv/lib/torch.so")}' | sort -u | wc -l").StdOut.Trim();
        Assert.Equal("1", Inodes("/home/bob"));

        var r = sb.Aica("user", "migrate", "bob", "--to", "symlink", "--yes");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("1", Inodes("/data/users/bob"));
        // ... and not the journal's copy of the original, which must stay as it was whatever the user changes now.
        Assert.Equal("2", Tools.Sh($"stat -c %h '{sb.P("/data/users/bob/venv/lib/torch.so")}'").StdOut.Trim());
        r = sb.Aica("user", "migrate", "bob", "--rollback", "--yes");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("1", Inodes("/home/bob"));
    }
}
