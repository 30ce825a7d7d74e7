using System.Diagnostics;
using Aica.Accounts;
using Aica.Config;
using Aica.Engine;
using Aica.IO;
using Aica.Native;
using Aica.Site;
using Aica.Users;
using static Aica.Native.Perms;

namespace Aica.Services;

public sealed record DoctorReport(string Version, string Host, IReadOnlyList<CheckResult> Checks)
{
    /// <summary>Member view: whose setup was checked, and how many checks were left out because they need root.</summary>
    public string? Member { get; init; }
    public int NeedRoot { get; init; }

    public int Count(CheckStatus st) => Checks.Count(c => c.Status == st);

    /// <summary>The area of a check: its id up to the first '.' or ':' ("user.rc:/home/a/.profile" is "user").</summary>
    public static string Area(string id)
    {
        var end = id.IndexOfAny(['.', ':']);
        return end < 0 ? id : id[..end];
    }
    public int ExitCode => Count(CheckStatus.Fail) > 0 ? ExitCodes.Failed : ExitCodes.Ok;
    /// <summary>doctor --strict: a FAIL keeps exit 1; warnings alone are exit 6 (scripts and monitoring that want a clean bill).</summary>
    public int StrictExitCode => ExitCode != ExitCodes.Ok ? ExitCode : Count(CheckStatus.Warn) > 0 ? ExitCodes.Warnings : ExitCodes.Ok;
}

/// <summary>
/// What doctor read once for all its checks, handed to the extensions so they do not read it again: the config, and
/// the registry and account files, null when they could not be read (a check that needs them then reads them itself,
/// and fails as it did before).
/// </summary>
public sealed record DoctorInputs(AicaServices Services, AicaConfig Config, Registry? Registry, AccountDb? Accounts);

/// <summary>
/// aica doctor: read-only. Every check of the desired-state engine (so doctor never disagrees with recover),
/// plus the checks that are not items: mount, free space, parse errors, path safety, last recovery, orphans, GPUs.
/// Every check runs even after others failed.
/// </summary>
public sealed class DoctorService(AicaServices s)
{
    /// <summary>The doctor with every feature's checks (what <c>aica doctor</c> and <c>aica metrics</c> run).</summary>
    /// <param name="walkTrees">False for aica metrics: the checks that walk whole shared caches (cache.*.group-writable) are left out.</param>
    public static DoctorService WithAllChecks(AicaServices s, bool walkTrees = true)
    {
        var d = new DoctorService(s);
        d.Extensions.Add(i => walkTrees ? Data.DataDoctor.Checks(i.Services, i.Config, i.Registry, i.Accounts) : Data.DataDoctor.Report(i.Services, i.Config));
        d.Extensions.Add(i => Integration.IntegrationChecks.Run(i.Services, i.Config, i.Registry));
        d.Extensions.Add(i => new Fleet.SharedStorageChecks().Run(i.Services, i.Config));
        return d;
    }

    /// <summary>Extra checks contributed by other features (data report age, cache hygiene...).</summary>
    public List<Func<DoctorInputs, IEnumerable<CheckResult>>> Extensions { get; } = [];

    public DoctorReport Run(string? onlyUser, string version)
    {
        if (onlyUser is not null && Names.ValidateUser(onlyUser) is { } ue) throw AicaException.Usage(ue);
        var checks = new List<CheckResult>();
        // A check that cannot run is a FAIL under its own id, with a hint; the next checks still run.
        void Add(string id, Func<CheckResult> f)
        {
            var sw = Stopwatch.StartNew();
            CheckResult r;
            try { r = f(); }
            catch (Exception e) when (IsExpected(e))
            {
                r = new CheckResult(id, CheckStatus.Fail, $"cannot check: {e.Message}", Fix: StateEngine.CannotCheckFix(e));
            }
            checks.Add(r with { DurationMs = sw.Elapsed.TotalMilliseconds });
        }

        var mounted = s.DataMounted();
        Add("data.mounted", () => mounted
            ? new CheckResult("data.mounted", CheckStatus.Pass, $"{s.Fs.Host("/data")} is a mounted file system")
            : new CheckResult("data.mounted", CheckStatus.Fail, s.DataNotMountedReason(), Fix: "mount the persistent disk on /data (check /etc/fstab), then aica recover"));
        if (mounted) Add("data.free", FreeSpace);

        AicaConfig? config = null, effective = null;
        Add("config.parse", () =>
        {
            if (!s.ConfigExists) return new CheckResult("config.parse", CheckStatus.Fail, $"{AicaConfig.ConfigPath} is missing", Fix: "aica init");
            var load = s.ReadConfig();
            if (load.Valid) { config = load.Config; return new CheckResult("config.parse", CheckStatus.Pass, $"{AicaConfig.ConfigPath} parses"); }
            effective = load.Config;
            return new CheckResult("config.parse", CheckStatus.Fail, $"{s.Fs.Host(AicaConfig.ConfigPath)} {string.Join("; ", load.Issues)}", null,
                Fix: "fix the lines named (aica config check shows them); recover and the other checks use each bad key's last good value or default meanwhile");
        });
        var configParsed = config is not null;
        config ??= effective ?? TryDefaults();

        Registry registry = Registry.Parse("");
        var registryRead = false;
        Add("registry.parse", () =>
        {
            registry = s.Registry.Load();
            registryRead = true;
            return registry.Problems.Count == 0
                ? new CheckResult("registry.parse", CheckStatus.Pass, $"{AicaConfig.RegistryPath}: {registry.Users.Count} users")
                : new CheckResult("registry.parse", CheckStatus.Fail,
                    $"{registry.Problems.Count} bad line(s) in {AicaConfig.RegistryPath} (line {string.Join(", ", registry.Problems.Select(p => p.Line))})",
                    string.Join("; ", registry.Problems), "fix or remove those lines (they are skipped by recover)");
        });
        if (configParsed)
            Add("group.gid-recorded", () => config.Gid is null
                ? new CheckResult("group.gid-recorded", CheckStatus.Warn, $"aica.toml records no gid for {config.Group}", Fix: "aica init records it")
                : new CheckResult("group.gid-recorded", CheckStatus.Pass, $"{config.Group} gid {config.Gid} recorded"));

        var db = new AccountDb(null, null);
        AccountDb? accountsRead = null;
        Add("accounts.read", () =>
        {
            db = accountsRead = s.Accounts.Load();
            return new CheckResult("accounts.read", CheckStatus.Pass, "/etc/passwd and /etc/group read");
        });
        try
        {
            // With a source named, the state includes the installed binary (bin.installed): the unit runs it at boot.
            var state = s.Builder(config).Build(registry, db, s.SelfExe ?? config.InstallPath, onlyUser is null ? null : [onlyUser]);
            foreach (var p in state.Problems.Except(registry.Problems.Select(x => x.ToString())))
                checks.Add(new CheckResult("user.resolve", CheckStatus.Fail, p, Fix: "fix the registry line or re-add the user"));
            if (onlyUser is not null && registry.Find(onlyUser) is null)
                checks.Add(new CheckResult($"user.registered:{onlyUser}", CheckStatus.Fail, $"{onlyUser} is not registered", Fix: $"aica user add {onlyUser}"));
            // Root's doctor trusts what recover found current and has not changed since (VerifiedFiles); it records nothing.
            var verified = Native.Sys.Euid == 0 ? VerifiedFiles.Load(s.Fs).ReadOnly() : VerifiedFiles.None;
            var engineChecks = new StateEngine(s.Context(config, verified: verified).WithAccounts(db)).Check(state);
            if (onlyUser is not null) engineChecks = engineChecks.Where(c => state.Units.Any(u => u.User == onlyUser && u.Items.Any(i => c.Id == $"{i.Id}:{i.Subject}")));
            checks.AddRange(engineChecks);
        }
        catch (Exception e) when (IsExpected(e))
        {
            checks.Add(new CheckResult("state.check", CheckStatus.Fail, $"cannot compute the desired state: {e.Message}", Fix: "fix the file named, then aica doctor again"));
        }

        Add("path.safe", () => PathSafety(config));
        Add("recovery.last", LastRecovery);
        if (onlyUser is null)
        {
            if (registryRead) // an unreadable registry would make every user look orphaned or unregistered
            {
                Add("users.orphans", () => Orphans(registry, db));
                Add("users.unregistered", () => Unregistered(config, registry, db));
                Add("users.hf-token", () => HfTokens(config, registry));
            }
            Add("cache.secrets", () => CacheHygiene(config));
        }
        Add("schedule.runs", ScheduleRuns);
        Add("kernel.protected-hardlinks", ProtectedHardlinks);
        Add("gpu.seen", Gpus);
        // /data/admin is root's: a member's doctor leaves the other nodes' reports out rather than call them clean.
        if (mounted && (Sys.Euid == 0 || !s.Fs.IsRealRoot)) Add("fleet.conflicts", () => new FleetService(s).OtherNodesConflicts(onlyUser));
        var inputs = new DoctorInputs(s, config, registryRead ? registry : null, accountsRead);
        foreach (var ext in Extensions)
        {
            // An extension that throws keeps what it reported so far and adds one FAIL; the others still run.
            using var it = ext(inputs).GetEnumerator();
            while (true)
            {
                try { if (!it.MoveNext()) break; }
                catch (Exception e) when (IsExpected(e))
                {
                    checks.Add(new CheckResult("doctor.extension", CheckStatus.Fail, $"a check could not run: {e.Message}", Fix: StateEngine.CannotCheckFix(e)));
                    break;
                }
                checks.Add(it.Current);
            }
        }
        var report = new DoctorReport(version, Sys.HostName(), checks);
        // Root's whole-server doctor is what the node status reports (a member's or one user's view is not).
        // A server aica does not manage yet (no aica.toml: before init or adopt) is no fleet node: doctor writes nothing there.
        if (onlyUser is null && mounted && registryRead && s.ConfigExists && (Sys.Euid == 0 || !s.Fs.IsRealRoot))
            new NodeReportService(s).AfterDoctor(report, registry, db, config);
        return report;
    }

    /// <summary>
    /// A member's doctor: their own account and home plus the server-wide checks a member can read. A check that
    /// needs root (permission denied) is left out and counted, so what remains is theirs to act on.
    /// </summary>
    public DoctorReport RunMember(int uid, string? onlyUser, string version)
    {
        var me = onlyUser;
        try { me ??= s.Accounts.Load().UserById(uid)?.Name; }
        catch (Exception e) when (IsExpected(e)) { }
        // An account aica would never manage (nobody, a system account): the server-wide checks it can read, no user's.
        if (onlyUser is null && me is not null && Names.ValidateUser(me) is not null) me = null;
        var r = Run(me, version);
        var kept = r.Checks.Where(c => c.Fix != StateEngine.NeedsRootFix).ToList();
        return new DoctorReport(r.Version, r.Host, kept) { Member = me ?? $"uid {uid}", NeedRoot = r.Checks.Count - kept.Count };
    }

    /// <summary>
    /// The scheduler that is actually active runs the jobs: with systemd the timers (their files and enable links are
    /// the engine's schedule.* checks), with cron the cron file, which runs only when a cron daemon is installed.
    /// </summary>
    private CheckResult ScheduleRuns()
    {
        var scheduler = s.Scheduler;
        if (scheduler.IsSystemd)
            return new CheckResult("schedule.runs", CheckStatus.Pass, $"systemd timers run aica's jobs: {scheduler.Why}");
        string[] daemons = ["/usr/sbin/cron", "/usr/sbin/crond", "/usr/bin/crond", "/usr/sbin/cronie", "/usr/bin/cronie", "/usr/sbin/fcron", "/usr/bin/fcron"];
        if (daemons.FirstOrDefault(d => s.Fs.Lstat(d) is not null) is { } found)
            return new CheckResult("schedule.runs", CheckStatus.Pass, $"cron runs aica's jobs ({Templates.CronPath}, daemon {found}): {scheduler.Why}");
        return new CheckResult("schedule.runs", CheckStatus.Warn, $"{Templates.CronPath} never runs: cron is the scheduler ({scheduler.Why}) but no cron daemon is installed",
            Fix: "apt install cron (or boot with systemd as init: aica then schedules systemd timers)");
    }

    private static bool IsExpected(Exception e) => e is SysException or IOException or AicaException or ArgumentException or UnauthorizedAccessException;

    private AicaConfig TryDefaults() => new();

    private CheckResult FreeSpace()
    {
        var u = s.Fs.StatVfs("/data");
        var used = u.Blocks - u.Free;
        var pct = used + u.Available == 0 ? 0 : (int)Math.Ceiling(100.0 * used / (used + u.Available));
        var free = Human.Bytes((long)(u.Available * u.BlockSize));
        var summary = $"/data {pct}% used, {free} free";
        return pct >= 98 ? new CheckResult("data.free", CheckStatus.Fail, summary, Fix: "aica clean --all; aica du --by-user")
            : pct >= 90 ? new CheckResult("data.free", CheckStatus.Warn, summary, Fix: "aica clean --all; aica du --by-user")
            : new CheckResult("data.free", CheckStatus.Pass, summary);
    }

    /// <summary>No group/world-writable directory (nor a non-root owner) on the path to what root executes or trusts.</summary>
    private CheckResult PathSafety(AicaConfig config)
    {
        var bad = new List<string>();
        foreach (var target in new[] { config.InstallPath, AicaConfig.ConfigPath, AicaConfig.RegistryPath })
        {
            var parts = target.Split('/', StringSplitOptions.RemoveEmptyEntries);
            var cur = "";
            for (var i = 0; i <= parts.Length; i++)
            {
                var p = i == 0 ? "/" : cur;
                var st = s.Fs.Lstat(p);
                if (st is { } x)
                {
                    if (x.IsLink) bad.Add($"{p} is a symbolic link");
                    else if (x.Uid != 0) bad.Add($"{p} is owned by uid {x.Uid}");
                    else if (x.WritableByOthers && !(x.IsDir && (x.Perm & Flags.S_ISVTX) != 0 && p == "/")) bad.Add($"{p} is group/world-writable ({Convert.ToString(x.Perm, 8)})");
                }
                if (i < parts.Length) cur += "/" + parts[i];
            }
        }
        bad = bad.Distinct().ToList();
        return bad.Count == 0
            ? new CheckResult("path.safe", CheckStatus.Pass, "binary, config and registry paths are root-owned and not writable by members")
            : new CheckResult("path.safe", CheckStatus.Fail, $"{bad.Count} unsafe path component(s): a member could replace what root runs or trusts: {string.Join("; ", bad)}",
                string.Join("; ", bad), "chown root:root and chmod go-w those paths (aica recover fixes the /data ones)");
    }

    private CheckResult LastRecovery()
    {
        using var doc = RecoverService.ReadStatus(s);
        if (doc is null) return new CheckResult("recovery.last", CheckStatus.Warn, "no recovery recorded since boot (/run/aica/recovery.json)", Fix: "aica recover (the unit runs it at boot)");
        var root = doc.RootElement;
        var status = root.TryGetProperty("status", out var st) ? st.GetString() : "?";
        var time = root.TryGetProperty("time", out var t) ? t.GetString() : "?";
        var failed = root.TryGetProperty("failed", out var f) ? f.GetInt32() : 0;
        var problems = root.TryGetProperty("problems", out var p) && p.ValueKind == System.Text.Json.JsonValueKind.Array
            ? p.EnumerateArray().Select(x => x.GetString() ?? "").ToList() : [];
        // The cause in the summary: "0 users failed" alone says nothing when a registry line or a unit failed.
        var why = failed > 0 ? $"{failed} user{(failed == 1 ? "" : "s")} failed" : problems.Count > 0 ? $"{problems.Count} problem{(problems.Count == 1 ? "" : "s")}, first: {problems[0]}" : "see the log";
        return status == "ok"
            ? new CheckResult("recovery.last", CheckStatus.Pass, $"last recovery ok at {time}")
            : new CheckResult("recovery.last", CheckStatus.Warn, $"last recovery {status} at {time}: {why}",
                problems.Count == 0 ? null : string.Join("; ", problems), "journalctl -u aica-recovery (or /var/log/aica-recovery.log); aica recover");
    }

    private CheckResult Orphans(Registry registry, AccountDb db)
    {
        using var fd = s.Fs.TryOpenDir("/data/users", out _);
        if (fd is null) return new CheckResult("users.orphans", CheckStatus.Pass, "no /data/users yet");
        var orphans = Sys.ReadDir(fd, "/data/users").Select(e => SafeOps.Escape(e.Name))
            .Where(n => registry.Find(n) is null && db.User(n) is null).OrderBy(n => n, StringComparer.Ordinal).ToList();
        return orphans.Count == 0
            ? new CheckResult("users.orphans", CheckStatus.Pass, "no orphaned user data")
            : new CheckResult("users.orphans", CheckStatus.Warn, $"{orphans.Count} data dir(s) in /data/users with no registered user and no account",
                string.Join(", ", orphans), "aica data orphans --remove (moves them to a backup)");
    }

    private CheckResult Unregistered(AicaConfig config, Registry registry, AccountDb db)
    {
        var un = db.MembersOf(config.Group).Where(m => registry.Find(m) is null).OrderBy(n => n, StringComparer.Ordinal).ToList();
        return un.Count == 0
            ? new CheckResult("users.unregistered", CheckStatus.Pass, $"every member of {config.Group} is registered")
            : new CheckResult("users.unregistered", CheckStatus.Warn, $"{un.Count} member(s) of {config.Group} not registered: lost at a full reset",
                string.Join(", ", un), "aica user add NAME adopts an existing account");
    }

    /// <summary>Shared caches must not hold code or secrets: a shared HF token, torch hub repos/trusted_list, HF modules/.</summary>
    private CheckResult CacheHygiene(AicaConfig config)
    {
        // The torch hub is member-writable: a member can make a million folders there. Streamed, first ones listed, rest counted.
        var found = new CappedList();
        var hfParent = config.HfHub[..config.HfHub.LastIndexOf('/')];
        foreach (var p in new[] { $"{hfParent}/token", $"{hfParent}/stored_tokens", $"{config.HfHub}/token" })
            if (s.Fs.Lstat(p) is not null) found.Add($"{p} (a HuggingFace token in a shared cache)");
        if (s.Fs.Lstat($"{hfParent}/modules") is not null) found.Add($"{hfParent}/modules (remote code, shared)");
        if (s.Fs.Lstat($"{config.TorchHome}/hub/trusted_list") is not null) found.Add($"{config.TorchHome}/hub/trusted_list (shared trust decisions)");
        using (var hub = s.Fs.TryOpenDir($"{config.TorchHome}/hub", out _))
        {
            if (hub is not null)
                Sys.EachDirEntry(hub, "hub", (name, type, _) =>
                {
                    if (type == 4 && !name.SequenceEqual("checkpoints"u8)) found.Add($"{config.TorchHome}/hub/{SafeOps.Escape(name)} (a repository: code members would run)");
                    return true;
                });
        }
        return found.Total == 0
            ? new CheckResult("cache.secrets", CheckStatus.Pass, "shared caches hold no tokens or code")
            : new CheckResult("cache.secrets", CheckStatus.Warn, $"{found.Total} code/secret item(s) in shared caches", found.Join("; "),
                "keep HF_HOME per user; move repositories out of the shared torch hub");
    }

    /// <summary>
    /// HuggingFace tokens other members can read: under the symlink layout /data/users/U is group-readable (2750) and
    /// members' umask is 002, so a token huggingface_hub writes is 0664 in a folder the group can enter.
    /// </summary>
    private CheckResult HfTokens(AicaConfig config, Registry registry)
    {
        var open = new List<string>();
        foreach (var u in registry.Users.Where(u => HomeLayouts.Supported.Of(u, config) is { HomeIsLink: true }))
        {
            var dir = $"/data/users/{u.Name}/{Users.PrivateDirItem.HfHome}";
            try
            {
                if (s.Fs.Lstat(dir) is not { IsDir: true } d || (d.Perm & O(011)) == 0) continue;
                foreach (var t in Caches.HfCache.TokenFiles)
                    if (s.Fs.Lstat($"{dir}/{t}") is { IsFile: true } f && (f.Perm & O(044)) != 0) open.Add($"{dir}/{t}");
            }
            catch (SysException) { } // a link on the way is not followed (user.tampered reports planted ones)
        }
        return open.Count == 0
            ? new CheckResult("users.hf-token", CheckStatus.Pass, "no member's HuggingFace token is readable by others")
            : new CheckResult("users.hf-token", CheckStatus.Warn, $"{open.Count} HuggingFace token(s) readable by other members", string.Join("; ", open),
                "the user runs chmod 700 ~/.cache/huggingface (users added by aica get it private)");
    }

    /// <summary>
    /// The walks keep hard links owned by root or non-members (SPEC §6.2) but change a member's; that is safe only while
    /// the kernel refuses to let a member hard-link a file they cannot write (another member's private file).
    /// The kernel's setting, so read from the real /proc even under --root.
    /// </summary>
    private static CheckResult ProtectedHardlinks()
    {
        const string id = "kernel.protected-hardlinks";
        string? value;
        try { value = File.ReadAllText("/proc/sys/fs/protected_hardlinks").Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { value = null; }
        return value == "1"
            ? new CheckResult(id, CheckStatus.Pass, "fs.protected_hardlinks = 1")
            : new CheckResult(id, CheckStatus.Warn, $"fs.protected_hardlinks = {value ?? "unknown"}: a member can hard-link another member's private file into a shared tree, and aica perms would open it to the group",
                Fix: "sysctl -w fs.protected_hardlinks=1, and keep it in /etc/sysctl.d/");
    }

    private CheckResult Gpus() => Site.Gpus.Read(s.Runner) switch
    {
        { FromDriver: true } d => new CheckResult("gpu.seen", CheckStatus.Pass, $"{d.Lines.Count} NVIDIA GPU(s) seen"),
        { Error: { } error } => new CheckResult("gpu.seen", CheckStatus.Pass, $"nvidia-smi -L failed: {error} (informational)"),
        { } smi => new CheckResult("gpu.seen", CheckStatus.Pass, $"{smi.Lines.Count} NVIDIA GPU(s) seen by nvidia-smi"),
        null => new CheckResult("gpu.seen", CheckStatus.Pass, "no NVIDIA GPU seen (informational)"),
    };
}
