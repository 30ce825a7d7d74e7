using Aica.Tests.Infra;

namespace Aica.Tests.Integration;

/// <summary>
/// The compatibility wrappers in shims/ (old bash script names): each maps the old arguments onto one aica command
/// and execs it. Driven with AICA_BIN pointing at a fake that records its arguments.
/// </summary>
[Trait("level", "blackbox")]
public sealed class ShimSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("aica-shim-").FullName;
    private string Record => Path.Combine(_dir, "argv");
    private string Fake => Path.Combine(_dir, "fake-aica");

    public ShimSpecs()
    {
        File.WriteAllText(Fake, "#!/bin/sh\n: > \"$REC\"\nfor a in \"$@\"; do printf '%s\\n' \"$a\" >> \"$REC\"; done\nexit 7\n");
        File.SetUnixFileMode(Fake, (UnixFileMode)0b111_101_101);
    }

    public void Dispose() => Directory.Delete(_dir, true);

    public static string ShimsDir
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("AICA_SHIMS");
            return string.IsNullOrEmpty(env) ? Path.Combine(Tools.RepoRoot, "shims") : env;
        }
    }

    public static readonly string[] Names =
    [
        "ops-recovery.sh", "ops-setup-global.sh", "user-setup.sh", "user-register.sh", "user-fix-permissions.sh",
        "ops-clean-cache.sh", "ops-disk-alert.sh", "system-permissions.sh", "system-sudoers.sh",
    ];

    private RunResult Shim(string name, params string[] args)
    {
        if (File.Exists(Record)) File.Delete(Record);
        return Tools.Run("/bin/sh", [Path.Combine(ShimsDir, name), .. args], new Dictionary<string, string> { ["AICA_BIN"] = Fake, ["REC"] = Record });
    }

    /// <summary>old script + old arguments → the aica command line it runs (space-joined argv).</summary>
    public static TheoryData<string, string, string> Mapping => new()
    {
        { "ops-recovery.sh", "", "recover" },
        { "ops-recovery.sh", "--dry-run", "recover --dry-run" },
        { "ops-setup-global.sh", "", "init" },
        { "ops-setup-global.sh", "gpu-users", "init --group gpu-users" },
        { "ops-setup-global.sh", "gpu-users --dry-run", "init --group gpu-users --dry-run" },
        { "system-sudoers.sh", "", "init" },
        { "system-sudoers.sh", "lab", "init --group lab" },
        { "user-setup.sh", "alice gpu-users", "user add alice --group gpu-users" },
        { "user-setup.sh", "alice", "user add alice" },
        { "user-setup.sh", "alice --uid 3001 --shell /bin/zsh --layout hybrid --pubkey-file /tmp/k.pub", "user add alice --uid 3001 --shell /bin/zsh --layout hybrid --pubkey-file /tmp/k.pub" },
        { "user-register.sh", "bob gpu-users", "user add bob --group gpu-users" },
        { "user-register.sh", "bob --group lab --dry-run", "user add bob --group lab --dry-run" },
        { "user-fix-permissions.sh", "alice gpu-users", "user fix alice" },
        { "user-fix-permissions.sh", "alice --dry-run", "user fix alice --dry-run" },
        { "ops-clean-cache.sh", "--all", "clean --all" },
        { "ops-clean-cache.sh", "--conda --pip", "clean --conda --pip" },
        { "ops-clean-cache.sh", "--hf --older-than 30 --dry-run", "clean --hf --older-than 30 --dry-run" },
        { "ops-clean-cache.sh", "--torch --older-than=7", "clean --torch --older-than 7" },
        { "ops-disk-alert.sh", "", "disk" },
        { "ops-disk-alert.sh", "--threshold 80", "disk --threshold 80" },
        { "ops-disk-alert.sh", "--threshold=85 --dry-run", "disk --threshold 85 --dry-run" },
        { "system-permissions.sh", "", "perms" },
        { "system-permissions.sh", "gpu-users", "perms" },
        { "system-permissions.sh", "/data/dataset /data/code --dry-run", "perms --dry-run /data/dataset /data/code" },
        { "system-permissions.sh", "gpu-users -q /data/code --dry-run", "perms -q --dry-run /data/code" },
        { "ops-clean-cache.sh", "--help", "clean --help" },
    };

    [Theory]
    [MemberData(nameof(Mapping))]
    public void Old_arguments_map_onto_the_aica_command_and_its_exit_code_is_passed_through(string script, string oldArgs, string expected)
    {
        var r = Shim(script, oldArgs.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(r.ExitCode == 7, $"{script} {oldArgs}: the fake's exit code 7 must come back (exec): {r}");
        Assert.Equal(expected, string.Join(' ', File.ReadAllLines(Record)));
    }

    [Fact]
    public void Arguments_with_spaces_and_globs_are_passed_as_single_words()
    {
        var r = Shim("system-permissions.sh", "/data/dataset/my data", "/data/code/*");
        Assert.Equal(7, r.ExitCode);
        Assert.Equal(["perms", "/data/dataset/my data", "/data/code/*"], File.ReadAllLines(Record));
    }

    public static TheoryData<string, string> BadInput => new()
    {
        { "ops-recovery.sh", "--force" },
        { "ops-setup-global.sh", "a b" },
        { "user-setup.sh", "" },
        { "user-setup.sh", "alice gpu-users extra" },
        { "user-setup.sh", "alice --uid" },
        { "user-register.sh", "--bogus alice" },
        { "user-fix-permissions.sh", "" },
        { "ops-clean-cache.sh", "--everything" },
        { "ops-clean-cache.sh", "--all --older-than" },
        { "ops-disk-alert.sh", "--threshold" },
        { "ops-disk-alert.sh", "80" },
        { "system-permissions.sh", "--recursive" },
        { "system-sudoers.sh", "--force" },
    };

    [Theory]
    [MemberData(nameof(BadInput))]
    public void Unknown_or_incomplete_old_arguments_are_exit_2_and_aica_is_never_run(string script, string oldArgs)
    {
        var r = Shim(script, oldArgs.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.False(File.Exists(Record), "aica must not run on bad input");
        Assert.Contains(script, r.StdErr);
    }

    [Fact]
    public void Every_old_name_exists_is_executable_posix_sh_and_shellcheck_clean()
    {
        foreach (var n in Names)
        {
            var p = Path.Combine(ShimsDir, n);
            Assert.True(File.Exists(p), $"{n} missing");
            Assert.StartsWith("#!/bin/sh\n", File.ReadAllText(p));
            Assert.True((File.GetUnixFileMode(p) & UnixFileMode.UserExecute) != 0, $"{n} is not executable");
            Assert.Contains("exec \"${AICA_BIN:-/data/bin/aica}\"", File.ReadAllText(p));
        }
        var sc = Tools.Run("shellcheck", ["-s", "sh", .. Names.Select(n => Path.Combine(ShimsDir, n))]);
        Assert.True(sc.ExitCode == 0, sc.ToString());
        // dash is the strictest POSIX shell here: it must parse them too.
        foreach (var n in Names)
        {
            var d = Tools.Run("dash", ["-n", Path.Combine(ShimsDir, n)]);
            Assert.True(d.ExitCode == 0, $"{n}: {d}");
        }
    }

    [Fact]
    public void Without_AICA_BIN_the_wrappers_exec_the_installed_binary()
    {
        foreach (var n in Names)
            Assert.Contains("/data/bin/aica", File.ReadAllText(Path.Combine(ShimsDir, n)));
        // A wrapper with the default path on a host without /data fails like a missing command (127), running nothing else.
        if (File.Exists("/data/bin/aica")) return;
        var r = Tools.Run("env", ["-u", "AICA_BIN", "/bin/sh", Path.Combine(ShimsDir, "ops-disk-alert.sh")]);
        Assert.Equal(127, r.ExitCode);
    }

    [Fact]
    public void Under_sudo_AICA_BIN_from_the_callers_environment_is_ignored()
    {
        // A sudoers rule that keeps the environment must not let a member pick what runs as root.
        if (File.Exists("/data/bin/aica")) return;
        foreach (var n in Names)
        {
            File.Delete(Record);
            var r = Tools.Run("/bin/sh", [Path.Combine(ShimsDir, n), "--help"],
                new Dictionary<string, string> { ["AICA_BIN"] = Fake, ["REC"] = Record, ["SUDO_UID"] = "3001" });
            Assert.False(File.Exists(Record), $"{n} ran AICA_BIN under sudo");
            Assert.Equal(127, r.ExitCode);
        }
    }

    public static TheoryData<string, string> RealForms => new()
    {
        { "ops-recovery.sh", "--dry-run" },
        { "ops-setup-global.sh", "gpu-users --dry-run" },
        { "system-sudoers.sh", "--dry-run" },
        { "user-setup.sh", "carol gpu-users --dry-run" },
        { "user-register.sh", "dave --uid 3005 --shell /bin/bash --layout symlink --dry-run" },
        { "user-fix-permissions.sh", "alice gpu-users --dry-run" },
        { "ops-clean-cache.sh", "--pip --hf --older-than 30 --dry-run" },
        { "ops-disk-alert.sh", "--threshold 80 --dry-run" },
        { "system-permissions.sh", "gpu-users /data/dataset /data/code --dry-run" },
    };

    /// <summary>What each wrapper produces is a command line the real aica accepts (not exit 2), run on a sandbox via AICA_ROOT.</summary>
    [Theory]
    [MemberData(nameof(RealForms))]
    public void The_real_aica_accepts_what_the_wrappers_produce(string script, string oldArgs)
    {
        using var sb = Sandbox.WithUsers("alice");
        Assert.Equal(0, sb.Aica("recover", "-q").ExitCode);
        var r = Tools.Run("/bin/sh", [Path.Combine(ShimsDir, script), .. oldArgs.Split(' ')],
            new Dictionary<string, string> { ["AICA_BIN"] = Tools.AicaBin, ["AICA_ROOT"] = sb.Root });
        Assert.True(r.ExitCode is 0 or 1, r.ToString());
        Assert.DoesNotContain("unknown", r.StdErr);
    }
}
