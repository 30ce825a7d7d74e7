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

    /// <summary>aica's version, as node status files report it (the executable's &lt;Version&gt;; read when first asked).</summary>
    public string Version
    {
        get => _version ??= System.Reflection.Assembly.GetEntryAssembly()?
            .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false).OfType<System.Reflection.AssemblyInformationalVersionAttribute>()
            .FirstOrDefault()?.InformationalVersion ?? "0.0.0";
        init => _version = value;
    }
    private string? _version;

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

    /// <summary>
    /// The config for commands that act on it (all but recover and doctor): missing means defaults; a bad file is exit 2
    /// naming every bad line, since acting on a guessed value (another group, another cache path) is worse than stopping.
    /// </summary>
    public AicaConfig LoadConfig()
    {
        var load = ReadConfig();
        if (load.Valid) return load.Config;
        throw AicaException.Usage($"{Fs.Host(AicaConfig.ConfigPath)} {string.Join("; ", load.Issues)} (check it with: aica config check)");
    }

    /// <summary>
    /// The config for recover and doctor, which must not stop on a typo (nobody could log in after a full reset): every
    /// problem comes back with its line, and each bad key takes its last good value (<see cref="LastGoodConfigPath"/>)
    /// or, without one, its default. The last good copy is read only when the file has a problem.
    /// </summary>
    public ConfigLoad ReadConfig()
    {
        string? text;
        try { text = Fs.ReadText(AicaConfig.ConfigPath); }
        catch (Native.SysException e)
        {
            var (fallback, label) = Fallback();
            return new ConfigLoad(fallback, [new ConfigIssue(0, $"cannot read it: {e.Message} (using {label} for every key)")]);
        }
        if (text is null) return new ConfigLoad(new AicaConfig(), []);
        var load = ConfigFile.Read(text);
        if (load.Valid) { _validConfigText = text; return load; }
        var (good, goodLabel) = Fallback();
        return ConfigFile.Read(text, good, goodLabel);
    }

    private string? _validConfigText;

    /// <summary>A root-only copy of the last aica.toml that validated: the values a bad key falls back to.</summary>
    public const string LastGoodConfigPath = "/data/admin/aica.toml.last-good";

    private (AicaConfig Config, string Label) Fallback()
    {
        try
        {
            // Only a root-owned copy that nobody else can write is trusted; it must still validate.
            if (Fs.Lstat(LastGoodConfigPath) is { IsFile: true, OnlyRootWrites: true } &&
                Fs.ReadText(LastGoodConfigPath) is { } text && ConfigFile.Read(text) is { Valid: true } load)
                return (load.Config, "the last good value");
        }
        catch (Native.SysException) { }
        return (new AicaConfig(), "the default");
    }

    /// <summary>
    /// After a run that read a valid aica.toml (recover, init): keeps a copy as the last good one. Writes only when it
    /// differs, so a steady boot writes nothing; never fails the command.
    /// </summary>
    /// <param name="written">The text this run just wrote to aica.toml (init), already validated.</param>
    public void RememberGoodConfig(string? written = null)
    {
        try
        {
            // What was written, or the text this run read and found valid (no second parse on every boot), else the file now.
            var known = written ?? _validConfigText;
            var text = known ?? Fs.ReadText(AicaConfig.ConfigPath);
            if (text is null || (known is null && !ConfigFile.Read(text).Valid)) return;
            var bytes = System.Text.Encoding.UTF8.GetBytes(text);
            if (Fs.ReadFile(LastGoodConfigPath) is { } kept && kept.AsSpan().SequenceEqual(bytes) && Fs.Lstat(LastGoodConfigPath) is { Uid: 0 } st && (st.Perm & 0x3f) == 0) return;
            MakeAdminDirs();
            Fs.WriteAtomic(LastGoodConfigPath, bytes, Native.Perms.O(600));
        }
        catch (Exception e) when (e is Native.SysException or IOException or ArgumentException) { }
    }

    /// <summary>/data/admin and its log folder with init's modes, for what is written there before init ran.</summary>
    private void MakeAdminDirs()
    {
        foreach (var (dir, mode) in DesiredStateBuilder.FixedDirs.Where(d => d.Path is "/data/admin" or "/data/admin/log"))
            if (Fs.Lstat(dir) is null) Fs.EnsureDir(dir, mode, 0, 0);
    }

    public bool ConfigExists => Fs.Lstat(AicaConfig.ConfigPath) is not null;

    /// <summary>The state lock (SPEC §6.7): one writer at a time on this host.</summary>
    public FileLock Lock(CancellationToken ct) => FileLock.Acquire(Fs, LockPath, Wait, "aica", ct);

    /// <param name="batchAccounts">recover: missing groups and accounts in one locked write of the account files.</param>
    public EngineContext Context(AicaConfig config, bool batchAccounts = false) => new(Fs, Accounts, Runner, config, Clock) { BatchAccounts = batchAccounts };

    public HomeLayouts Layouts { get; init; } = HomeLayouts.Default();

    public DesiredStateBuilder Builder(AicaConfig config) =>
        new(config, Layouts, ValidateSudoers) { DebianPam = Fs.Lstat(Templates.PamConfigsDir) is { IsDir: true }, StoredAccounts = AccountStore.Read };

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
            if (Fs.Lstat("/data/admin/log") is null) MakeAdminDirs();
            Fs.AppendLine($"/data/admin/log/aica.log", $"{Clock.LogTime()} {kind}: {line}");
        }
        catch (Exception e) when (e is Native.SysException or IOException or ArgumentException) { /* logging never fails a command */ }
    }

    public void Dispose() => Fs.Dispose();
}
