using System.Security.Cryptography;
using System.Text;
using Aica.Tests.Infra;

namespace Aica.Tests.Boot;

/// <summary>The real-boot tests share one Debian tree and run one at a time (each boots its own container).</summary>
[CollectionDefinition("boot", DisableParallelization = true)]
public sealed class BootCollection : ICollectionFixture<DebianImage>;

/// <summary>
/// A minimal Debian bookworm tree with systemd, sshd, PAM, cron, sudo and zsh (mmdebstrap, about 40–120 s), built once
/// per test run and cached under the worktree's ignored <c>artifacts/boot/</c>, keyed by the package list. It is built
/// into a temporary folder and renamed when complete, so a killed build is never reused. Built on first use, so a run
/// without root or without the tools skips instead of building.
/// </summary>
public sealed class DebianImage
{
    public const string Suite = "bookworm";

    /// <summary>
    /// What a GPU server's base image has that aica and the session checks touch. cloud-init stays disabled (its
    /// generator finds no datasource) except on the node that carries a NoCloud seed.
    /// </summary>
    public static readonly string[] Packages =
    [
        "systemd", "systemd-sysv", "dbus", "libpam-systemd", "openssh-server", "openssh-client", "sudo", "cron", "passwd", "login", "zsh",
        "libpam-modules", "cloud-init",
        // The fleet tests: Ansible reaches the nodes over ssh and runs its modules with python3.
        "python3",
    ];

    private readonly Lock _lock = new();
    private string? _tree;

    public static string Key =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{Suite}|minbase|{string.Join(',', Packages)}")))[..12];

    public static string CacheDir => Path.Combine(Tools.RepoRoot, "artifacts", "boot");

    /// <summary>Skips (with the reason) when this machine cannot boot a container: not root, or no mmdebstrap/systemd-nspawn.</summary>
    public static void RequireBootable()
    {
        Require.Root();
        foreach (var (tool, package) in new[] { ("mmdebstrap", "mmdebstrap"), ("systemd-nspawn", "systemd-container"), ("nsenter", "util-linux") })
            if (Tools.Sh($"command -v {tool}").ExitCode != 0)
                Assert.Skip($"real-boot tests need {tool} (Debian package {package}; make deps installs it)");
    }

    /// <summary>The tree's path, built on first use (a build failure fails the test with mmdebstrap's output).</summary>
    public string Tree
    {
        get
        {
            lock (_lock) return _tree ??= Build();
        }
    }

    private static string Build()
    {
        var final = Path.Combine(CacheDir, $"debian-{Key}");
        if (Directory.Exists(Path.Combine(final, "usr", "lib", "systemd")) && File.Exists(Path.Combine(final, "usr", "sbin", "sshd"))) return final;
        Directory.CreateDirectory(CacheDir);
        var tmp = Path.Combine(CacheDir, $"build-{Guid.NewGuid():N}");
        Directory.CreateDirectory(tmp);
        try
        {
            var r = Tools.Run("mmdebstrap", ["--quiet", "--variant=minbase", $"--include={string.Join(',', Packages)}", Suite, Path.Combine(tmp, "tree")],
                timeoutSeconds: 600);
            if (r.ExitCode != 0) throw new InvalidOperationException($"mmdebstrap failed (it needs the Debian mirror):\n{r}");
            Tools.Sh($"rm -rf --one-file-system '{final}'");
            Directory.Move(Path.Combine(tmp, "tree"), final);
            // Trees of older package lists (about 350 MB each) are not kept.
            foreach (var old in Directory.GetDirectories(CacheDir, "debian-*").Where(d => d != final))
                Tools.Sh($"rm -rf --one-file-system '{old}'");
            return final;
        }
        finally
        {
            Tools.Sh($"rm -rf --one-file-system '{tmp}'");
        }
    }
}
