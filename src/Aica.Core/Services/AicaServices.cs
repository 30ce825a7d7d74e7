using Aica.Accounts;
using Aica.Config;
using Aica.Engine;
using Aica.IO;

namespace Aica.Services;

/// <summary>Options every command accepts (SPEC §7).</summary>
public sealed record GlobalOptions(string Root = "/", bool Json = false, bool Quiet = false, bool Verbose = false, int WaitSeconds = 30);

/// <summary>
/// The composition root of one command run: the rooted file system, child processes, clock, accounts, registry.
/// Built once by the CLI and handed to the services.
/// </summary>
public sealed class AicaServices : IDisposable
{
    public const string LockPath = "/run/aica/aica.lock";
    public const string StatusPath = "/run/aica/recovery.json";
    public const string RecoveryLog = "/var/log/aica-recovery.log";

    public AicaServices(GlobalOptions options, ProcessRunner? runner = null, Clock? clock = null)
    {
        Options = options;
        try { Fs = new RootedFs(options.Root); }
        catch (Native.SysException e) { throw AicaException.Usage($"--root {options.Root}: {e.Message}"); }
        Runner = runner ?? new ProcessRunner();
        Clock = clock ?? new Clock();
        Accounts = new AccountService(Fs, Runner);
        Registry = new RegistryStore(Fs);
    }

    public GlobalOptions Options { get; }
    public RootedFs Fs { get; }
    public ProcessRunner Runner { get; }
    public Clock Clock { get; }
    public AccountService Accounts { get; }
    public RegistryStore Registry { get; }
    public TimeSpan Wait => TimeSpan.FromSeconds(Options.WaitSeconds);

    /// <summary>The path of the running executable (what init installs to /data/bin).</summary>
    public string? SelfExe { get; init; } = Environment.ProcessPath;

    public bool DataMounted() => Fs.IsMountPoint("/data");

    /// <summary>Why /data does not count as mounted, in words an admin can act on.</summary>
    public string DataNotMountedReason() => Fs.Lstat("/data") switch
    {
        null => $"{Fs.Host("/data")} does not exist, so it is not a mounted file system",
        { IsLink: true } => $"{Fs.Host("/data")} is a symbolic link, not a mounted file system (aica never follows it: mount the disk on /data itself)",
        _ => $"{Fs.Host("/data")} is not a mounted file system",
    };

    /// <summary>State changes on a real server need root (under --root, a sandbox owner may try).</summary>
    public void RequireRoot(string what)
    {
        if (Native.Sys.Euid != 0 && Fs.IsRealRoot)
            throw AicaException.Refused($"{what} must be run as root (try: sudo aica {what})");
    }

    /// <summary>SPEC §6.3: refuse, exit 3, when /data is not a mounted file system.</summary>
    public void RequireDataMounted()
    {
        if (!DataMounted())
            throw AicaException.Refused($"{DataNotMountedReason()}: refusing to write (a missing disk would fill the SSD)");
    }

    /// <summary>The config; missing means defaults. A bad file is exit 2 with the line number.</summary>
    public AicaConfig LoadConfig()
    {
        string? text;
        try { text = Fs.ReadText(AicaConfig.ConfigPath); }
        catch (Native.SysException e) { throw new AicaException($"cannot read {Fs.Host(AicaConfig.ConfigPath)}: {e.Message}", ExitCodes.Usage); }
        if (text is null) return new AicaConfig();
        try { return AicaConfig.Parse(text); }
        catch (TomlError e) { throw AicaException.Usage($"{Fs.Host(AicaConfig.ConfigPath)} {e.Message}"); }
    }

    public bool ConfigExists => Fs.Lstat(AicaConfig.ConfigPath) is not null;

    /// <summary>The state lock (SPEC §6.7): one writer at a time on this host.</summary>
    public FileLock Lock(CancellationToken ct) => FileLock.Acquire(Fs, LockPath, Wait, "aica", ct);

    /// <param name="batchAccounts">recover: missing groups and accounts in one locked write of the account files.</param>
    public EngineContext Context(AicaConfig config, bool batchAccounts = false) => new(Fs, Accounts, Runner, config, Clock) { BatchAccounts = batchAccounts };

    public HomeLayouts Layouts { get; init; } = HomeLayouts.Default();

    public DesiredStateBuilder Builder(AicaConfig config) => new(config, Layouts, ValidateSudoers) { StoredAccounts = AccountStore.Read };

    /// <summary>The account state on /data (issue 11: what a full reset must not lose).</summary>
    public AccountStore AccountStore => _accountStore ??= new AccountStore(Fs);
    private AccountStore? _accountStore;

    /// <summary>visudo -cf on the temp file before it is renamed into place (SPEC §6.4).</summary>
    public async Task<string?> ValidateSudoers(EngineContext ctx, string hostTemp, CancellationToken ct)
    {
        var visudo = Runner.Which("visudo");
        if (visudo is null) return "visudo not found (install the sudo package); the sudoers drop-in was not installed";
        var r = await Runner.RunAsync(visudo, ["-cf", hostTemp], ct).ConfigureAwait(false);
        return r.Ok ? null : $"visudo -cf rejected it: {r.Brief}";
    }

    /// <summary>One line to the persistent log on /data (the SSD's /var/log dies with a reset).</summary>
    public void Log(string kind, string line)
    {
        try
        {
            // Before init made them, the log's folders get init's modes (EnsureParents would make plain 0755 ones).
            if (Fs.Lstat("/data/admin/log") is null)
                foreach (var (dir, mode) in DesiredStateBuilder.FixedDirs.Where(d => d.Path is "/data/admin" or "/data/admin/log"))
                    if (Fs.Lstat(dir) is null) Fs.Mkdir(dir, mode, 0, 0);
            Fs.AppendLine($"/data/admin/log/aica.log", $"{Clock.LogTime()} {kind}: {line}");
        }
        catch (Exception e) when (e is Native.SysException or IOException or ArgumentException) { /* logging never fails a command */ }
    }

    public void Dispose() => Fs.Dispose();
}
