using Aica.Caches;
using Aica.Native;
using Aica.Services;
using Aica.Site;
using Aica.Tests.Infra;
using static Aica.Tests.Caches.CondaCleanSpecs;

namespace Aica.Tests.Caches;

/// <summary>
/// Issue 10, finding 1: a member swaps a package folder of the shared conda cache (which every member can write) for a
/// link to another member's home, to /data/config or to the server's root while root cleans it. Deterministic here: the
/// swap is made by the test seam <see cref="CleanService.CondaBeforeRemove"/>, exactly between the check of a package
/// and its removal, with the member's own move (<c>renameat2(RENAME_EXCHANGE)</c>). Nothing outside the package cache may
/// change; the clean reports the change and exits 1 (the documented code for "finished, something failed").
/// The same attacks through the real sudo rule and the real cron line, and the real swap loop, run in
/// <see cref="CondaSweepEndToEndSpecs"/>.
/// </summary>
public sealed class CondaSweepAttackSpecs
{
    private const string Victim = "numpy-1.26.4-py312_0";

    /// <summary>A member's home as it matters here: a 2750 home, a 0700 .ssh, a 2700 private folder, a HuggingFace token.</summary>
    internal static void VictimHome(Sandbox sb)
    {
        var h = sb.P("/data/users/bob");
        Assert.Equal(0, Tools.Sh($"""
            set -e
            mkdir -p '{h}/.ssh' '{h}/private/runs' '{h}/.cache/huggingface'
            echo 'ssh-ed25519 AAAA bob' > '{h}/.ssh/authorized_keys'
            echo 'weights' > '{h}/private/runs/w.bin'
            echo 'hf_secret' > '{h}/.cache/huggingface/token'
            echo 'echo hi' > '{h}/.bashrc'
            chown -R 3002:3002 '{h}'
            chmod 2750 '{h}'; chmod 0700 '{h}/.ssh'; chmod 2700 '{h}/private'; chmod 600 '{h}/.cache/huggingface/token'
            """).ExitCode);
    }

    /// <summary>Everything of the server but the package cache, the log folder and /run (the lock): names, types, sizes,
    /// modes, owners, times (modification and change) and the bytes of every file.</summary>
    internal static string Fingerprint(Sandbox sb)
    {
        const string prune = "-path ./data/cache/conda/pkgs -prune -o -path ./data/admin/log -prune -o -path ./run -prune -o";
        var r = Tools.Sh($$"""
            cd '{{sb.Root}}' && find . {{prune}} -printf '%p %y %s %m %U:%G %T@ %C@\n' | sort
            find . {{prune}} -type f -exec sha256sum {} + | sort
            """);
        Assert.Equal(0, r.ExitCode);
        return r.StdOut;
    }

    private static string Target(Sandbox sb, string victim) => victim switch
    {
        "home" => sb.P("/data/users/bob"),
        "config" => sb.P("/data/config"),
        "root" => sb.Root, // the server's "/" (the sandbox's root: never the test machine's own)
        _ => throw new ArgumentOutOfRangeException(nameof(victim)),
    };

    /// <summary>What <c>sudo aica clean --conda</c> runs once the member's form is allowed, and what the cron line runs.</summary>
    private static CleanOptions Form(string form) => form switch
    {
        "sudo" => new CleanOptions([CacheTarget.Conda], null, null, false, Caller.Admin),
        "cron" => new CleanOptions(Enum.GetValues<CacheTarget>(), 30, null, false, Caller.Admin),
        _ => throw new ArgumentOutOfRangeException(nameof(form)),
    };

    private static CleanReport Clean(Sandbox sb, string form, Action<string> hook)
    {
        using var s = new AicaServices(new GlobalOptions(Root: sb.Root));
        return new CleanService(s) { CondaBeforeRemove = hook }.Run(Form(form), TestContext.Current.CancellationToken).GetAwaiter().GetResult();
    }

    /// <summary>The member's move: exchange two names of the cache in one step.</summary>
    private static void Exchange(Sandbox sb, string a, string b)
    {
        using var dir = Sys.OpenAt(Flags.AT_FDCWD, sb.P(Pkgs), Flags.O_RDONLY | Flags.O_DIRECTORY);
        Sys.RenameAt(dir.Fd, Sys.Z(a), dir.Fd, Sys.Z(b), Flags.RENAME_EXCHANGE, b);
    }

    private static Sandbox Prepared()
    {
        var sb = Server();
        VictimHome(sb);
        Package(sb, Victim);
        Package(sb, "scipy-1.13-py312_0");
        Write(sb, $"{Pkgs}/scipy-1.13-py312_0.conda", 9000);
        return sb;
    }

    [Trait("level", "unit")]
    [Theory]
    [InlineData("home", "sudo")]
    [InlineData("home", "cron")]
    [InlineData("config", "sudo")]
    [InlineData("config", "cron")]
    [InlineData("root", "sudo")]
    [InlineData("root", "cron")]
    public void A_package_folder_exchanged_for_a_link_between_check_and_removal_changes_nothing_outside(string victim, string form)
    {
        using var sb = Prepared();
        File.CreateSymbolicLink(sb.P($"{Pkgs}/0-evil"), Target(sb, victim));
        var before = Fingerprint(sb);
        var swapped = 0;
        var report = Clean(sb, form, p =>
        {
            if (p != $"{Pkgs}/{Victim}") return;
            Exchange(sb, Victim, "0-evil");
            swapped++;
        });
        Assert.Equal(1, swapped);
        Assert.Equal(before, Fingerprint(sb));
        var conda = report.Targets.Single(t => t.Target == CacheTarget.Conda);
        Assert.Equal(TargetStatus.Failed, conda.Status);
        Assert.Equal(1, report.Failed); // exit 1: what CleanCommand returns for any failed target
        Assert.Contains(conda.Log.Problems, p => p.Contains($"{Pkgs}/{Victim}") && p.Contains("left as it is"));
        // The link stays where the member put it, the real package (now under the other name) is whole, the rest is clean.
        Assert.Equal(Target(sb, victim), new FileInfo(sb.P($"{Pkgs}/{Victim}")).LinkTarget);
        Assert.True(File.Exists(sb.P($"{Pkgs}/0-evil/lib/lib{Victim}.so")));
        Assert.False(Directory.Exists(sb.P($"{Pkgs}/scipy-1.13-py312_0")));
        Assert.False(File.Exists(sb.P($"{Pkgs}/scipy-1.13-py312_0.conda")));
    }

    [Trait("level", "unit")]
    [Theory]
    [InlineData("sudo")]
    [InlineData("cron")]
    public void A_folder_inside_a_package_exchanged_for_a_link_before_the_removal_is_removed_as_a_link(string form)
    {
        using var sb = Prepared();
        File.CreateSymbolicLink(sb.P($"{Pkgs}/{Victim}/evil"), sb.P("/data/users/bob"));
        Assert.Equal(0, Tools.Sh($"touch -h -d @{Ago(40)} '{sb.P($"{Pkgs}/{Victim}/evil")}' '{sb.P($"{Pkgs}/{Victim}")}'").ExitCode);
        var before = Fingerprint(sb);
        var report = Clean(sb, form, p =>
        {
            if (p != $"{Pkgs}/{Victim}") return;
            using var dir = Sys.OpenAt(Flags.AT_FDCWD, sb.P($"{Pkgs}/{Victim}"), Flags.O_RDONLY | Flags.O_DIRECTORY);
            Sys.RenameAt(dir.Fd, Sys.Z("lib"), dir.Fd, Sys.Z("evil"), Flags.RENAME_EXCHANGE, "lib");
        });
        Assert.Equal(before, Fingerprint(sb));
        Assert.Equal(0, report.Failed);
        Assert.False(Path.Exists(sb.P($"{Pkgs}/{Victim}")), "the package went, its link as a link");
    }

    [Trait("level", "unit")]
    [Theory]
    [InlineData("sudo", "/data/config/users.txt")]
    [InlineData("cron", "/data/users/bob/.cache/huggingface/token")]
    public void A_tarball_exchanged_for_a_link_before_its_removal_is_left_and_reported(string form, string victim)
    {
        using var sb = Prepared();
        File.CreateSymbolicLink(sb.P($"{Pkgs}/0-evil"), sb.P(victim));
        var before = Fingerprint(sb);
        var report = Clean(sb, form, p =>
        {
            if (p == $"{Pkgs}/scipy-1.13-py312_0.conda") Exchange(sb, "scipy-1.13-py312_0.conda", "0-evil");
        });
        Assert.Equal(before, Fingerprint(sb));
        Assert.Equal(1, report.Failed);
        Assert.Contains(report.Targets.Single(t => t.Target == CacheTarget.Conda).Log.Problems, p => p.Contains("scipy-1.13-py312_0.conda: changed while cleaning"));
        Assert.Equal(sb.P(victim), new FileInfo(sb.P($"{Pkgs}/scipy-1.13-py312_0.conda")).LinkTarget);
    }

    [Trait("level", "unit")]
    [Fact]
    public void A_file_linked_into_an_environment_between_check_and_removal_keeps_the_rest_of_its_package()
    {
        using var sb = Prepared();
        var report = Clean(sb, "sudo", p =>
        {
            if (p != $"{Pkgs}/{Victim}") return;
            Directory.CreateDirectory(sb.P("/data/users/alice/conda/envs/new/bin"));
            Assert.Equal(0, Tools.Sh($"ln '{sb.P($"{Pkgs}/{Victim}/bin/{Victim}")}' '{sb.P("/data/users/alice/conda/envs/new/bin/")}'").ExitCode);
        });
        Assert.Equal(1, report.Failed);
        Assert.True(File.Exists(sb.P($"{Pkgs}/{Victim}/bin/{Victim}")), "a file an install links meanwhile is kept");
        Assert.True(File.Exists(sb.P($"/data/users/alice/conda/envs/new/bin/{Victim}")));
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Fifos_sockets_and_device_nodes_in_the_cache_are_never_opened_and_are_reported()
    {
        using var sb = Server();
        Package(sb, "a-1-0");
        Package(sb, "b-1-0");
        Write(sb, $"{Pkgs}/.logs/x.log", 100);
        Assert.Equal(0, Tools.Sh($"""
            set -e
            cd '{sb.P(Pkgs)}'
            mkfifo fifo-1.0-0 b-1-0/info/pipe .logs/pipe.log
            mknod null-1.0-0 c 1 3
            mknod disk-1.0-0.conda b 7 0
            python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' sock-1.0-0
            mkdir cache && mkfifo cache/pipe
            touch -h -d @{Ago(40)} b-1-0 b-1-0/info
            """).ExitCode);
        // A FIFO opened for reading would block the clean until the timeout: it must finish, and leave every one of them.
        var r = Tools.Run(Tools.AicaBin, ["--root", sb.Root, "clean", "--conda", "--json"], timeoutSeconds: 60);
        Assert.True(r.ExitCode == 0, r.ToString());
        var t = Conda(r);
        var skipped = string.Join("\n", Strings(t, "skipped"));
        foreach (var (name, kind) in new[] { ("fifo-1.0-0", "FIFO"), ("null-1.0-0", "character device"), ("disk-1.0-0.conda", "block device"),
                     ("sock-1.0-0", "socket"), (".logs/pipe.log", "FIFO") })
        {
            Assert.Contains($"{Pkgs}/{name} is a {kind}", skipped);
            Assert.True(Tools.Sh($"test -e '{sb.P($"{Pkgs}/{name}")}' -a ! -L '{sb.P($"{Pkgs}/{name}")}'").ExitCode == 0, name);
        }
        Assert.Contains($"{Pkgs}/b-1-0: {Pkgs}/b-1-0/info/pipe is a FIFO: not a conda package", skipped);
        Assert.True(Tools.Sh($"test -p '{sb.P($"{Pkgs}/b-1-0/info/pipe")}'").ExitCode == 0);
        Assert.False(Directory.Exists(sb.P($"{Pkgs}/a-1-0")));
        Assert.False(Directory.Exists(sb.P($"{Pkgs}/cache")), "the index cache goes whole: a FIFO in it is unlinked, never opened");
        Assert.False(File.Exists(sb.P($"{Pkgs}/.logs/x.log")));
        var text = sb.Aica("clean", "--conda");
        Assert.Contains("[WARN]", text.All);
        Assert.Contains("never opened", text.All);
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Package_folders_that_are_links_to_the_root_a_home_or_the_config_are_left_reported_and_never_followed()
    {
        using var sb = Server();
        VictimHome(sb);
        Package(sb, "a-1-0");
        File.CreateSymbolicLink(sb.P($"{Pkgs}/root-1.0-0"), sb.Root);
        File.CreateSymbolicLink(sb.P($"{Pkgs}/home-1.0-0"), sb.P("/data/users/bob"));
        File.CreateSymbolicLink(sb.P($"{Pkgs}/config-1.0-0"), sb.P("/data/config"));
        File.CreateSymbolicLink(sb.P($"{Pkgs}/cache"), sb.P("/data/config"));
        File.CreateSymbolicLink(sb.P($"{Pkgs}/.logs"), sb.P("/data/users/bob/.ssh"));
        File.CreateSymbolicLink(sb.P($"{Pkgs}/users-1.0-0.conda"), sb.P("/data/config/users.txt"));
        var before = Fingerprint(sb);
        var r = sb.Aica("clean", "--all", "--older-than", "30", "--json");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(before, Fingerprint(sb));
        var links = string.Join("\n", Strings(Conda(r), "links"));
        foreach (var name in new[] { "root-1.0-0", "home-1.0-0", "config-1.0-0", "cache", ".logs", "users-1.0-0.conda" })
        {
            Assert.Contains($"{Pkgs}/{name} is a symlink to", links);
            Assert.NotNull(new FileInfo(sb.P($"{Pkgs}/{name}")).LinkTarget);
        }
        Assert.False(Directory.Exists(sb.P($"{Pkgs}/a-1-0")));
    }
}
