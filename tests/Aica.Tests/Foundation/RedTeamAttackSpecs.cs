using Aica.Tests.Infra;

namespace Aica.Tests.Foundation;

/// <summary>Attacks a member can prepare in the trees they write, seen in what root prints or does (black-box, --root).</summary>
public sealed class RedTeamAttackSpecs
{
    private static Sandbox Server() => Sandbox.WithUsers("alice");

    /// <summary>OSC 52 sets the admin's clipboard (paste-jacking into a root shell); erase-line hides the warning itself.</summary>
    private const string Evil = "\u001b]52;c;cm0gLXJmIC8K\u0007\u001b[2K\r\u009b2Kok";

    [Trait("level", "blackbox")]
    [Fact]
    public void Link_targets_a_member_plants_reach_the_admins_terminal_only_escaped()
    {
        using var sb = Server();
        Assert.Equal(0, sb.Aica("recover", "-q").ExitCode);
        Directory.CreateDirectory(sb.P("/data/users/alice/.cache"));
        File.CreateSymbolicLink(sb.P("/data/users/alice/.cache/pip"), Evil);
        Directory.Delete(sb.P("/data/users/alice/conda"), true);
        File.CreateSymbolicLink(sb.P("/data/users/alice/conda"), Evil);
        File.Delete(sb.P("/data/users/alice/.profile"));
        File.CreateSymbolicLink(sb.P("/data/users/alice/.profile"), Evil);

        var clean = sb.Aica("clean", "--pip");
        var doctor = sb.Aica("doctor");
        var plan = sb.Aica("recover", "--dry-run");
        var recover = sb.Aica("recover");
        foreach (var r in new[] { clean, doctor, plan, recover })
        {
            Assert.Contains("\\x1b]52;c;", r.All);
            Assert.DoesNotContain('\u001b', r.All);
            Assert.DoesNotContain('\u0007', r.All);
            Assert.DoesNotContain('\u009b', r.All);
        }
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void A_pubkey_file_a_member_hands_over_never_echoes_what_it_links_to_nor_blocks_the_admin()
    {
        using var sb = Server();
        var dir = Directory.CreateTempSubdirectory("aica-pub-").FullName;
        try
        {
            // root's single-line secret, and the member's "bob.pub" linked to it
            File.WriteAllText(Path.Combine(dir, "vault-token"), "hvs.CAESIJsecretTOKENvalue0123456789abc s.TAIL\n");
            File.CreateSymbolicLink(Path.Combine(dir, "bob.pub"), Path.Combine(dir, "vault-token"));
            var r = sb.Aica("user", "add", "bob", "--pubkey-file", Path.Combine(dir, "bob.pub"));
            Assert.Equal(2, r.ExitCode);
            Assert.DoesNotContain("CAES", r.All);
            // a FIFO would hang the admin's command until someone writes to it
            Assert.Equal(0, Tools.Sh($"mkfifo '{dir}/carol.pub'").ExitCode);
            var f = Tools.Run(Tools.AicaBin, ["--root", sb.Root, "user", "add", "carol", "--pubkey-file", $"{dir}/carol.pub"], timeoutSeconds: 20);
            Assert.Equal(2, f.ExitCode);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Adopt_leaves_no_member_able_to_swap_the_script_folder_root_runs_from_cron()
    {
        Require.Root();
        using var sb = new Sandbox();
        var R = sb.Root;
        // The bash-era clone, made by a member (the README's "cd /data && git clone"): its scripts run as root from cron.
        var setup = Tools.Sh($"""
            set -e
            groupadd -P '{R}' -g 2000 gpu-users && groupadd -P '{R}' -g 3996 alice && useradd -P '{R}' -u 3996 -g 3996 -G gpu-users -M -d /home/alice alice
            mkdir -p '{R}/data/config' '{R}/data/AICADataKeeper/scripts' '{R}/etc/sudoers.d' '{R}/etc/profile.d'
            printf 'alice:gpu-users\n' > '{R}/data/config/users.txt'
            printf '#!/bin/bash\necho old\n' > '{R}/data/AICADataKeeper/scripts/ops-recovery.sh'
            chown -R 3996:2000 '{R}/data/AICADataKeeper' && chmod 2775 '{R}/data/AICADataKeeper'
            """);
        Assert.True(setup.ExitCode == 0, setup.ToString());
        var r = sb.Aica("adopt");
        Assert.Contains("exec \"${AICA_BIN:-/data/bin/aica}\" recover", File.ReadAllText(sb.P("/data/AICADataKeeper/scripts/ops-recovery.sh")));
        var swap = Tools.Sh($"setpriv --reuid=3996 --regid=3996 --groups=2000 -- sh -c " +
            $"\"mv '{R}/data/AICADataKeeper/scripts' '{R}/data/AICADataKeeper/old' && mkdir '{R}/data/AICADataKeeper/scripts'\"");
        Assert.True(swap.ExitCode != 0, $"alice swapped the folder of root's wrappers\n{r}");
    }
}

/// <summary>End to end on a simulated server: what a login shell of root gets from the generated profile.</summary>
public sealed class ProfilePathAttackSpecs
{
    [Trait("level", "sim")]
    [Fact]
    public void A_conda_launcher_folder_members_can_write_never_goes_on_roots_path()
    {
        var r = SimServer.BootOnce(Reset.None, """
            $AICA init --gid 2500 -q || exit 10
            C=/data/apps/miniconda3
            mkdir -p $C/condabin && printf '#!/bin/sh\necho conda\n' > $C/condabin/conda && chmod 755 $C/condabin/conda
            echo "root-only=$(bash -lc 'command -v conda')"
            # a bash-era shared install: the tree belongs to the group, as members were to install into it
            chgrp -R gpu-users $C && chmod 2775 $C $C/condabin
            printf '#!/bin/sh\necho pwned\n' > $C/condabin/ls && chmod 755 $C/condabin/ls
            echo "writable-ls=$(bash -lc 'command -v ls')"
            echo "writable-path=$(bash -lc 'echo $PATH')"
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("root-only=/data/apps/miniconda3/condabin/conda\n", r.StdOut);
        Assert.DoesNotContain("writable-ls=/data/apps", r.StdOut);
        Assert.DoesNotContain("condabin", r.StdOut[r.StdOut.IndexOf("writable-path=", StringComparison.Ordinal)..]);
    }
}

/// <summary>In-process (the test holds aica's lock to stop it at an exact moment), so in the "cli" collection.</summary>
[Collection("cli")]
public sealed class InstallerSwapAttackSpecs
{
    private static string Installer(string version, string extra = "") => $$"""
        #!/bin/sh
        P=$3
        {{extra}}
        mkdir -p "$P/bin"
        printf '#!/bin/sh\necho "conda {{version}}"\n' > "$P/bin/conda"
        chmod 755 "$P/bin/conda"
        """.Replace("\r", "");

    [Trait("level", "blackbox")]
    [Fact]
    public async Task An_installer_replaced_after_its_sha256_was_checked_is_never_run_as_root()
    {
        using var sb = Sandbox.Initialised();
        // The admin installs a file a member handed over (in the member's folder), pinned with the published sha256.
        var dir = sb.P("/data/users/alice");
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, "Miniconda3-latest-Linux-x86_64.sh");
        File.WriteAllText(file, Installer("25.1.0"));
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(file)));
        var pwned = sb.P("/tmp/pwned");

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var lockPath = "/run/aica/aica.lock";
        using var fs = new Aica.IO.RootedFs(sb.Root);
        Task<(int Code, string Out, string Err)> run;
        using (Aica.IO.FileLock.Acquire(fs, lockPath, TimeSpan.Zero, "test", cts.Token))
        {
            run = Task.Run(() => Integration.InProcess.Aica(sb.Root, "install", "miniconda", "--from", file, "--sha256", sha, "--wait", "60"));
            // aica has checked the installer once it holds its own descriptor of the lock file: then the member swaps it.
            while (Directory.EnumerateFiles("/proc/self/fd").Count(f => SafeTarget(f) == sb.P(lockPath)) < 2)
            {
                if (run.IsCompleted) Assert.Fail($"aica finished before it waited for the lock: {await run}");
                cts.Token.WaitHandle.WaitOne(10);
                cts.Token.ThrowIfCancellationRequested();
            }
            File.WriteAllText(file + ".new", Installer("6.6.6", $"touch '{pwned}'"));
            File.Move(file + ".new", file, true);
        }
        var (code, stdout, stderr) = await run.WaitAsync(cts.Token);
        Assert.False(File.Exists(pwned), "the swapped installer ran as root");
        Assert.DoesNotContain("6.6.6", stdout + stderr);
        Assert.True(code != 0 || stdout.Contains("25.1.0"), $"exit {code}\n{stdout}\n{stderr}");
        Assert.Empty(Directory.EnumerateFileSystemEntries(sb.P("/data/apps"), ".*installer*"));
    }

    private static string? SafeTarget(string fd)
    {
        try { return new FileInfo(fd).LinkTarget; } catch (IOException) { return null; }
    }
}
