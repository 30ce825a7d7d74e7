using System.Text;
using System.Text.RegularExpressions;
using Aica.Config;
using Aica.Engine;
using Aica.IO;
using Aica.Native;
using Aica.Services;
using Microsoft.Win32.SafeHandles;
using static Aica.Native.Flags;
using static Aica.Native.Perms;

namespace Aica.Integration;

/// <summary>One line of the adopt report: what was found and what adopt did (or would do) about it.</summary>
public sealed record AdoptChange(string Action, string Path, string Detail);

public sealed record AdoptResult(bool DryRun, AicaConfig Config, string? BackupDir, string? ReportPath, IReadOnlyList<AdoptChange> Changes,
    IReadOnlyList<string> Problems, IReadOnlyList<string> Warnings, IReadOnlyList<PlannedAction> Planned, InitResult? Init)
{
    public bool Failed => Problems.Count > 0 || Init?.Failed == true;
    public int ExitCode => Failed ? ExitCodes.Failed : ExitCodes.Ok;
    public bool NoChanges => Changes.Count == 0 && Planned.Count == 0 && (Init is null || Init.NoChanges);
}

/// <summary>
/// aica adopt: takes over a server set up by the bash scripts (AICADataKeeper). It reads what they left (two-field
/// users.txt, global_env.sh, the sudoers drop-in, the profile.d loader, the old unit, the /tmp/recovery-complete
/// marker), records the live accounts' ids in the registry, writes aica.toml, backs up and replaces the old files,
/// puts the compatibility wrappers where the old scripts were, and then runs init: the same desired-state engine
/// fixes the dangerous modes (group-writable /data, /data/config, /data/apps; 777 caches). Nothing under
/// /data/users is written: files there are only read, to report executables that lost their exec bits.
/// </summary>
public sealed partial class AdoptService(AicaServices s)
{
    public static readonly string[] LegacyConfigDirs = ["/data/config", "/data/system/config"];
    public static readonly string[] LegacyScriptDirs = ["/data/scripts", "/data/system/scripts", "/data/AICADataKeeper/scripts"];
    public const string LegacySudoers = "/etc/sudoers.d/aica-datakeeper";
    public const string LegacyProfile = "/etc/profile.d/global_envs.sh";
    public const string RecoveryMarker = "/tmp/recovery-complete";

    /// <summary>The old script names that have a compatibility wrapper in shims/ (embedded).</summary>
    public static readonly string[] WrappedScripts =
    [
        "ops-recovery.sh", "ops-setup-global.sh", "user-setup.sh", "user-register.sh", "user-fix-permissions.sh",
        "ops-clean-cache.sh", "ops-disk-alert.sh", "system-permissions.sh", "system-sudoers.sh",
    ];

    /// <summary>global_env.sh variable → how aica treats it.</summary>
    private static readonly Dictionary<string, string> CacheKeys = new()
    {
        ["CONDA_PKGS_DIRS"] = "conda", ["TORCH_HOME"] = "torch", ["HF_HUB_CACHE"] = "hf.hub", ["HF_DATASETS_CACHE"] = "hf.datasets",
        ["COMFYUI_HOME"] = "comfyui", ["FLUX_HOME"] = "flux",
    };

    private readonly List<AdoptChange> _changes = [];
    private readonly List<string> _problems = [];
    private readonly List<string> _warnings = [];
    private string? _backup;
    private bool _dry;

    public async Task<AdoptResult> Run(bool dryRun, CancellationToken ct)
    {
        _dry = dryRun;
        if (!dryRun) s.RequireRoot("adopt");
        s.RequireDataMounted();
        AicaConfig config;
        Registry registry;
        var stamp = s.Clock.Stamp();
        using (dryRun ? null : s.Lock(ct))
        {
            var db = s.Accounts.Load();
            _backupRoot = $"{new AicaConfig().BackupDir}/adopt_{stamp}";
            RemovePlantedLinks(); // before anything reads through them
            if (_backup is null && s.ConfigExists) _backupRoot = $"{s.LoadConfig().BackupDir}/adopt_{stamp}";
            var env = ReadGlobalEnv();
            config = s.ConfigExists ? s.LoadConfig() : NewConfig(env, db);
            if (!s.ConfigExists)
            {
                Change("write", AicaConfig.ConfigPath, $"group {config.Group} (gid {config.Gid}), caches and conda root from the bash-era settings");
                if (!dryRun)
                {
                    s.Fs.EnsureParents(AicaConfig.ConfigPath);
                    using var shared = s.Registry.Lock(s.Wait, ct); // another node's init or adopt writes it too
                    if (s.ConfigExists) throw new AicaException($"{s.Fs.Host(AicaConfig.ConfigPath)} was written by another node meanwhile: run aica adopt again", ExitCodes.LockBusy);
                    s.Fs.WriteAtomic(AicaConfig.ConfigPath, Encoding.UTF8.GetBytes(config.Render()), O(644));
                }
            }
            registry = AdoptRegistry(config, db, ct);
            RetireGlobalEnv(env);
            RetireProfileLoader();
            RetireSudoers(config);
            RetireUnit(config);
            RetireRecoveryMarker();
            ReplaceScripts();
            FixOtherCaches(config);
        }

        // The same engine as init (and recover, and doctor) makes the rest true, for the shared parts only: adopt
        // never writes under /data/users (the users' homes are set up by the next recover, or aica user fix).
        IReadOnlyList<PlannedAction> planned = [];
        InitResult? init = null;
        if (config.Gid is null) { } // the group is missing: reported above; init would invent a new gid
        else if (dryRun)
        {
            var state = s.Builder(config).Build(registry, s.Accounts.Load(), s.SelfExe, []);
            planned = new StateEngine(s.Context(config)).Plan(state);
            _problems.AddRange(state.Problems.Where(p => !AlreadyReported(p)));
        }
        else
        {
            init = await new InitService(s).Run(new InitOptions(Users: []), ct).ConfigureAwait(false);
            _problems.AddRange(init.Problems.Where(p => !AlreadyReported(p)));
        }

        ReportCrontabs();
        ReportUnregisteredMembers(config, registry);
        ReportSharedContents(config);
        ReportStrippedExecBits(config, registry);

        string? reportPath = null;
        var result = new AdoptResult(dryRun, config, _backup, null, _changes, _problems, _warnings, planned, init);
        if (!dryRun && !result.NoChanges)
        {
            reportPath = $"{config.ReportsDir}/adopt_{stamp}.txt";
            s.Fs.EnsureParents(reportPath);
            s.Fs.WriteAtomic(reportPath, Encoding.UTF8.GetBytes(RenderReport(result)), O(640));
            s.Log("adopt", $"{_changes.Count} changes, {init?.Applied?.Actions.Count ?? 0} engine actions, {_problems.Count} problems; report {reportPath}");
        }
        return result with { ReportPath = reportPath };
    }

    private string _backupRoot = "";
    private readonly HashSet<string> _reportedUsers = [];

    /// <summary>The engine's own line about a user adopt already explained (or a registry line problem already listed).</summary>
    private bool AlreadyReported(string problem) =>
        _problems.Contains(problem) || _problems.Contains($"{problem} (the line is kept as it is)")
        || _reportedUsers.Any(u => problem.StartsWith(u + ": "));

    private void Change(string action, string path, string detail) => _changes.Add(new AdoptChange(action, path, detail));

    /// <summary>
    /// The bash era left /data and /data/config group-writable, so a member may have replaced a file adopt reads with
    /// a link (to /etc/shadow, say). Such a link is never followed: it is recorded in the backup, removed as a link,
    /// and reported (exit 1): the file it stood for is treated as missing.
    /// </summary>
    private void RemovePlantedLinks()
    {
        var paths = new List<string> { "/data/config", "/data/system", "/data/system/config", AicaConfig.ConfigPath };
        foreach (var d in LegacyConfigDirs) { paths.Add($"{d}/users.txt"); paths.Add($"{d}/global_env.sh"); }
        foreach (var p in paths.Distinct())
        {
            if (s.Fs.Lstat(p) is not { IsLink: true }) continue;
            var target = s.Fs.ShowLink(p);
            _problems.Add($"{p} is a symbolic link to {target} (planted while the folder was group-writable?): not followed, "
                + $"removed as a link (recorded in the backup); restore the real file from your own backup if it existed");
            Backup(p);
            Change("remove", p, $"planted link to {target}");
            if (!_dry) s.Fs.Unlink(p);
        }
    }

    // ---------------------------------------------------------------- reading the bash era

    /// <summary>The exports of global_env.sh (the first one found), or null.</summary>
    private (string Path, Dictionary<string, string> Vars)? ReadGlobalEnv()
    {
        foreach (var dir in LegacyConfigDirs)
        {
            var path = $"{dir}/global_env.sh";
            var text = s.Fs.ReadText(path);
            if (text is null) continue;
            var vars = new Dictionary<string, string>();
            foreach (var raw in text.Split('\n'))
            {
                var m = ExportLine().Match(raw.Trim());
                if (m.Success) vars[m.Groups[1].Value] = m.Groups[2].Value.Trim().Trim('"', '\'');
            }
            return (path, vars);
        }
        return null;
    }

    [GeneratedRegex(@"^(?:export\s+)?([A-Z_][A-Z0-9_]*)=(.*?)\s*(?:#.*)?$")]
    private static partial Regex ExportLine();

    /// <summary>aica.toml from what the bash era used: the group of the sudoers rule or users.txt, its live gid, cache paths, conda root.</summary>
    private AicaConfig NewConfig((string Path, Dictionary<string, string> Vars)? env, Accounts.AccountDb db)
    {
        var c = new AicaConfig();
        var group = GroupFromSudoers() ?? GroupFromRegistry() ?? c.Group;
        if (Names.ValidateGroup(group) is not null) group = c.Group;
        var live = db.Group(group);
        if (live is null) _problems.Add($"group {group} (used by the bash scripts) does not exist on this server: create it with the gid it had (aica init --group {group} --gid N), then rerun aica adopt");
        c = c with { Group = group, Gid = live?.Gid };
        if (env is { } e)
        {
            foreach (var (name, value) in e.Vars)
            {
                if (CacheKeys.TryGetValue(name, out var id))
                {
                    if (!Names.IsCleanDataPath(value)) { _warnings.Add($"{e.Path}: {name}={value} is not a clean path under /data; the default is kept"); continue; }
                    c = id switch
                    {
                        "conda" => c with { CondaPkgs = value }, "torch" => c with { TorchHome = value }, "hf.hub" => c with { HfHub = value },
                        "hf.datasets" => c with { HfDatasets = value }, "comfyui" => c with { ComfyUi = value }, _ => c with { Flux = value },
                    };
                }
                else if (name == "HF_HOME")
                    _warnings.Add($"{e.Path}: HF_HOME={value} was shared; aica keeps HF_HOME per user (it holds the user's token) and shares only HF_HUB_CACHE and HF_DATASETS_CACHE");
                else if (name is "TRANSFORMERS_CACHE" or "PIP_CACHE_DIR" or "UV_CACHE_DIR" or "CONDA_ENVS_PATH")
                    _warnings.Add($"{e.Path}: {name}={value} is not carried over (per-user caches and environments live in each user's home on /data)");
                else if (name == "PATH" && CondaBin().Match(value) is { Success: true } m && Names.IsCleanDataPath(m.Groups[1].Value))
                    c = c with { CondaRoot = m.Groups[1].Value };
            }
        }
        // The structure of the seed kept Miniconda under /data/system/apps.
        if (s.Fs.Lstat(c.CondaRoot) is null && s.Fs.Lstat("/data/system/apps/miniconda3") is { IsDir: true }) c = c with { CondaRoot = "/data/system/apps/miniconda3" };
        return c;
    }

    [GeneratedRegex(@"(/data/[A-Za-z0-9._/-]*?(?:mini|ana)conda3)/(?:bin|condabin)")]
    private static partial Regex CondaBin();

    private string? GroupFromSudoers()
    {
        var text = s.Fs.ReadText(LegacySudoers);
        if (text is null) return null;
        var m = SudoersGroupRule().Match(text);
        return m.Success ? m.Groups[1].Value : null;
    }

    private string? GroupFromRegistry() =>
        LegacyRegistryText() is { } t ? Registry.Parse(t).Users.GroupBy(u => u.Group).OrderByDescending(g => g.Count()).FirstOrDefault()?.Key : null;

    private string? LegacyRegistryText() => LegacyConfigDirs.Select(d => s.Fs.ReadText($"{d}/users.txt")).FirstOrDefault(t => t is not null);

    // ---------------------------------------------------------------- registry

    /// <summary>Two-field lines get the live account's uid, gid, shell and layout; a user without an account is reported and the line kept.</summary>
    private Registry AdoptRegistry(AicaConfig config, Accounts.AccountDb db, CancellationToken ct)
    {
        if (s.Fs.Lstat(AicaConfig.RegistryPath) is null && s.Fs.ReadFile("/data/system/config/users.txt") is { } old)
        {
            Change("copy", AicaConfig.RegistryPath, "from /data/system/config/users.txt (the old location is left as it was)");
            if (!_dry)
            {
                s.Fs.EnsureParents(AicaConfig.RegistryPath);
                s.Fs.WriteAtomic(AicaConfig.RegistryPath, old, O(644)); // byte for byte
            }
        }
        var current = s.Registry.Load();
        foreach (var p in current.Problems) _problems.Add($"{p} (the line is kept as it is)");
        var upgrades = new List<UserEntry>();
        foreach (var u in current.Users.Where(u => u.IsLegacy))
        {
            var live = db.User(u.Name);
            if (live is null)
            {
                _reportedUsers.Add(u.Name);
                _problems.Add($"users.txt line {u.Line}: {u.Name} has no account on this server and no uid recorded; the line is kept. "
                    + $"Re-create the account with its old uid (aica user add {u.Name} --uid N) or remove the line");
                continue;
            }
            var home = s.Fs.Lstat($"/home/{u.Name}");
            var layout = home is { IsLink: true } || home is null ? "symlink" : config.DefaultLayout;
            upgrades.Add(u with { Uid = live.Uid, Gid = live.Gid, Shell = Names.ValidateShell(live.Shell) is null ? live.Shell : config.DefaultShell, Layout = layout });
        }
        if (upgrades.Count == 0) return current;
        Backup(AicaConfig.RegistryPath);
        foreach (var u in upgrades) Change("upgrade", AicaConfig.RegistryPath, $"line {u.Line}: {u.Name}:{u.Group} -> {u.Render()} (ids of the live account)");
        if (_dry)
        {
            var copy = Registry.Parse(current.Render());
            foreach (var u in upgrades) copy.Upsert(u);
            return copy;
        }
        return s.Registry.Update(reg => { foreach (var u in upgrades) reg.Upsert(u); return reg; }, s.Wait, ct);
    }

    // ---------------------------------------------------------------- old files

    /// <summary>Copies a file into the backup folder under its own path (original bytes and mode, root-owned).</summary>
    private void Backup(string path)
    {
        if (_dry) return;
        var st = s.Fs.Lstat(path);
        if (st is null) return;
        var dest = _backupRoot + path;
        foreach (var d in new[] { "/data/admin", _backupRoot[.._backupRoot.LastIndexOf('/')] })
            if (s.Fs.Lstat(d) is null) { s.Fs.EnsureParents(d); s.Fs.Mkdir(d, O(750), 0, 0); }
        s.Fs.EnsureParents(_backupRoot + "/x");
        if (s.Fs.Lstat(_backupRoot) is null) s.Fs.Mkdir(_backupRoot, O(750), 0, 0);
        s.Fs.EnsureParents(dest);
        if (st.Value.IsLink) s.Fs.Symlink(dest, s.Fs.ReadLink(path)!);
        else s.Fs.WriteAtomic(dest, s.Fs.ReadFile(path) ?? [], st.Value.Perm & O(777));
        _backup = _backupRoot;
    }

    private const string GlobalEnvStub = "# Replaced by aica adopt: the environment comes from /etc/profile.d/aica.sh (settings in /data/config/aica.toml).\n"
        + "# Kept so that old `source` lines in shell startup files still work; it sets nothing.\n";

    /// <summary>global_env.sh becomes a stub (old ~/.bashrc lines may source it); its values went into aica.toml.</summary>
    private void RetireGlobalEnv((string Path, Dictionary<string, string> Vars)? env)
    {
        if (env is not { } e || s.Fs.ReadText(e.Path) == GlobalEnvStub) return;
        Backup(e.Path);
        Change("replace", e.Path, "with a stub that sets nothing (values moved to aica.toml; /etc/profile.d/aica.sh exports them)");
        if (!_dry) s.Fs.WriteAtomic(e.Path, Encoding.UTF8.GetBytes(GlobalEnvStub), O(644));
    }

    private void RetireProfileLoader()
    {
        if (s.Fs.Lstat(LegacyProfile) is null) return;
        Backup(LegacyProfile);
        Change("remove", LegacyProfile, $"the bash-era loader; {Templates.ProfilePath} replaces it");
        if (!_dry) s.Fs.Unlink(LegacyProfile);
    }

    [GeneratedRegex(@"^%([a-z_][a-z0-9_-]{0,31})\s+ALL\s*=\s*\(ALL(?::ALL)?\)\s*NOPASSWD:\s*([A-Z_][A-Z0-9_]*(?:\s*,\s*[A-Z_][A-Z0-9_]*)*)\s*$", RegexOptions.Multiline)]
    private static partial Regex SudoersGroupRule();

    [GeneratedRegex(@"^Cmnd_Alias\s+[A-Z_][A-Z0-9_]*\s*=\s*(.+)$")]
    private static partial Regex SudoersAlias();

    /// <summary>
    /// The drop-in system-sudoers.sh wrote holds only command aliases for the old scripts or df/du and one rule for the
    /// group. Any other line was added by hand: the file is left in place and reported (nothing is lost), exit 1.
    /// </summary>
    private void RetireSudoers(AicaConfig config)
    {
        var text = s.Fs.ReadText(LegacySudoers);
        if (text is null) return;
        var foreign = new List<string>();
        foreach (var raw in text.Replace("\\\n", " ").Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            if (SudoersGroupRule().IsMatch(line)) continue;
            var alias = SudoersAlias().Match(line);
            if (alias.Success && alias.Groups[1].Value.Split(',').Select(c => c.Trim().Split(' ')[0]).All(IsBashEraCommand)) continue;
            foreign.Add(line);
        }
        if (foreign.Count > 0)
        {
            _problems.Add($"{LegacySudoers} was edited by hand ({string.Join(" | ", foreign)}): left in place. Move the rules you still want into a file "
                + $"of your own under /etc/sudoers.d/, delete {LegacySudoers}, and rerun aica adopt ({Templates.SudoersPath} now grants the member commands)");
            return;
        }
        Backup(LegacySudoers);
        Change("remove", LegacySudoers, $"the bash-era rules (old script paths); {Templates.SudoersPath} replaces it (validated with visudo)");
        if (!_dry) s.Fs.Unlink(LegacySudoers);
    }

    private static bool IsBashEraCommand(string cmd) =>
        cmd is "/usr/bin/df" or "/bin/df" or "/usr/bin/du" or "/bin/du"
        || LegacyScriptDirs.Any(d => cmd.StartsWith(d + "/") && cmd.EndsWith(".sh"));

    /// <summary>The bash era's unit had aica's unit name; it is backed up before the engine rewrites it.</summary>
    private void RetireUnit(AicaConfig config)
    {
        var text = s.Fs.ReadText(Templates.UnitPath);
        if (text is null || text == Templates.Unit(config)) return;
        Backup(Templates.UnitPath);
        Change("replace", Templates.UnitPath, $"the bash-era unit ({text.Split('\n').FirstOrDefault(l => l.StartsWith("ExecStart="))?.Trim() ?? "other content"}); init writes aica's");
    }

    private void RetireRecoveryMarker()
    {
        if (s.Fs.Lstat(RecoveryMarker) is not { } st) return;
        if (!st.IsFile) { _warnings.Add($"{RecoveryMarker} is not a regular file; left alone"); return; }
        Change("remove", RecoveryMarker, $"the bash-era 'recovery done' marker; aica's status is {AicaServices.StatusPath}");
        if (!_dry) s.Fs.Unlink(RecoveryMarker);
        foreach (var (path, line) in GrepEtc("recovery-complete"))
            _warnings.Add($"{path}: '{line}' waits for the bash-era marker; aica's unit runs before logins (remove this line)");
    }

    /// <summary>
    /// The old scripts that crontabs and habits call are replaced by the wrappers (same names, exec aica); the folder
    /// becomes root-owned and not group-writable (root runs these from cron). Other old scripts are only reported.
    /// </summary>
    private void ReplaceScripts()
    {
        foreach (var dir in LegacyScriptDirs)
        {
            if (s.Fs.Lstat(dir) is { IsLink: true })
            {
                _warnings.Add($"{dir} is a symbolic link to {s.Fs.ShowLink(dir)}: not followed, no wrappers put there");
                continue;
            }
            if (s.Fs.Lstat(dir) is not { IsDir: true } st) continue;
            using var fd = s.Fs.OpenDir(dir);
            var names = Sys.ReadDir(fd, s.Fs.Host(dir)).Select(e => Encoding.UTF8.GetString(e.Name)).ToHashSet();
            if (!WrappedScripts.Any(names.Contains)) continue;
            // The folder and every folder above it: whoever can write a parent can rename the folder away and put
            // their own scripts under its name (a bash-era clone made from a member's account, say), run by root.
            var parts = dir.Split('/', StringSplitOptions.RemoveEmptyEntries);
            for (var i = 1; i <= parts.Length; i++)
            {
                var p = "/" + string.Join('/', parts[..i]);
                if (s.Fs.Lstat(p) is not { IsDir: true } ps || (ps.OnlyRootWrites && ps.Gid == 0)) continue;
                Change("fix", p, $"was {Convert.ToString(ps.Perm, 8)} {ps.Uid}:{ps.Gid}, now root:root without group/world write (root runs the scripts in {dir})");
                if (!_dry) s.Fs.SetOwnerMode(p, 0, 0, ps.Perm & ~O(2022));
            }
            foreach (var name in WrappedScripts)
            {
                var path = $"{dir}/{name}";
                var wrapper = Templates.Raw(name);
                var cur = s.Fs.Lstat(path);
                if (cur is { IsFile: true } c && c.Uid == 0 && c.Gid == 0 && c.Perm == O(755) && s.Fs.ReadText(path) == wrapper) continue;
                if (cur is { IsDir: true } or { IsFile: false, IsLink: false }) { _warnings.Add($"{path} is not a regular file; left alone"); continue; }
                if (cur is not null) Backup(path);
                Change(cur is null ? "write" : "replace", path, "with the compatibility wrapper (exec /data/bin/aica)");
                if (!_dry) s.Fs.WriteAtomic(path, Encoding.UTF8.GetBytes(wrapper), O(755));
            }
            var others = names.Where(n => n.EndsWith(".sh") && !WrappedScripts.Contains(n)).Order().ToList();
            if (others.Count > 0)
                _warnings.Add($"{dir}: no aica wrapper for {string.Join(", ", others)}: no longer needed (aica install, aica user add, aica recover cover them); left as they are");
        }
    }

    /// <summary>Bash-era shared caches aica does not manage (pip, npm, yarn, uv, python): world-writable tops lose o+w.</summary>
    private void FixOtherCaches(AicaConfig config)
    {
        var managed = config.SharedCaches.Select(c => c.Path).ToHashSet();
        foreach (var root in new[] { "/data/cache", "/data/system/cache", "/data/models" })
        {
            if (s.Fs.Lstat(root) is not { IsDir: true }) continue;
            using var fd = s.Fs.OpenDir(root);
            foreach (var (zname, type, _) in Sys.ReadDir(fd, s.Fs.Host(root)))
            {
                var path = $"{root}/{Encoding.UTF8.GetString(zname)}";
                if (managed.Contains(path) || managed.Any(m => m.StartsWith(path + "/"))) continue;
                if (s.Fs.Lstat(path) is not { IsDir: true } st || (st.Perm & O(2)) == 0) continue;
                Change("fix", path, $"was {Convert.ToString(st.Perm, 8)} (world-writable: anyone could plant files there), now {Convert.ToString(st.Perm & ~O(2), 8)}");
                if (!_dry) s.Fs.SetOwnerMode(path, null, null, st.Perm & ~O(2));
            }
        }
    }

    // ---------------------------------------------------------------- read-only reports

    /// <summary>Lines in /etc that mention a text (crontabs, profile scripts, rc.local).</summary>
    private IEnumerable<(string Path, string Line)> GrepEtc(string needle)
    {
        var files = new List<string> { "/etc/crontab", "/etc/rc.local", "/etc/bash.bashrc", "/etc/profile", "/var/spool/cron/crontabs/root" };
        foreach (var dir in new[] { "/etc/cron.d", "/etc/profile.d", "/etc/cron.hourly", "/etc/cron.daily" })
        {
            using var fd = s.Fs.TryOpenDir(dir, out _);
            if (fd is null) continue;
            files.AddRange(Sys.ReadDir(fd, s.Fs.Host(dir)).Select(e => $"{dir}/{Encoding.UTF8.GetString(e.Name)}"));
        }
        foreach (var f in files)
        {
            string? text;
            try { text = s.Fs.Lstat(f) is { IsFile: true } ? s.Fs.ReadText(f) : null; }
            catch (SysException) { continue; }
            if (text is null) continue;
            foreach (var line in text.Split('\n'))
                if (line.Contains(needle) && !line.TrimStart().StartsWith('#')) yield return (f, line.Trim());
        }
    }

    private void ReportCrontabs()
    {
        foreach (var dir in LegacyScriptDirs)
            foreach (var (path, line) in GrepEtc(dir + "/").Where(p => p.Path != Templates.CronPath))
            {
                var script = WrappedScripts.FirstOrDefault(n => line.Contains($"{dir}/{n}"));
                _warnings.Add(script is null
                    ? $"{path}: '{line}' runs a bash-era script aica does not wrap; replace it with the aica command"
                    : $"{path}: '{line}' keeps working through the wrapper; {Templates.CronPath} already runs aica's own schedule, so this line can go");
            }
    }

    private void ReportUnregisteredMembers(AicaConfig config, Registry registry)
    {
        var db = s.Accounts.Load();
        foreach (var m in db.MembersOf(config.Group).Order())
            if (registry.Find(m) is null && s.Fs.Lstat($"/data/users/{m}") is { IsDir: true })
                _warnings.Add($"{m} is a member of {config.Group} with data in /data/users/{m} but was never registered (user-register.sh was skipped): "
                    + $"their home is not rebuilt after a reboot; aica user add {m} adopts the account");
    }

    /// <summary>Shared caches: entries still world-writable inside (the recursive fix is aica perms).</summary>
    private void ReportSharedContents(AicaConfig config)
    {
        foreach (var (_, path) in config.SharedCaches)
        {
            using var fd = s.Fs.TryOpenDir(path, out _);
            if (fd is null) continue;
            var v = new Scan((in WalkEntry e) => (e.Stat.Perm & O(2)) != 0 && !e.Stat.IsLink, dirCheck: st => (st.Perm & O(2)) != 0);
            TreeWalker.Default().Walk(fd, s.Fs.Host(path), v);
            if (v.Count > 0) _warnings.Add($"{path}: {v.Count} world-writable entries inside (e.g. {v.Examples.First()}); aica perms {path} normalises them");
        }
    }

    private const int O_NOATIME = 0x40000;

    /// <summary>
    /// Scripts and programs whose exec bits a recursive chmod took away: files with no x bit that start with #! or
    /// an ELF header, in bin/ folders or named *.sh. Only read (O_NOFOLLOW, O_NOATIME): nothing is changed.
    /// </summary>
    private void ReportStrippedExecBits(AicaConfig config, Registry registry)
    {
        var roots = new List<string> { config.CondaRoot, config.Code };
        roots.AddRange(registry.Users.Select(u => $"/data/users/{u.Name}"));
        foreach (var root in roots)
        {
            using var fd = s.Fs.TryOpenDir(root, out _);
            if (fd is null) continue;
            var v = new Scan(LostExecBit);
            TreeWalker.Default().Walk(fd, s.Fs.Host(root), v);
            if (v.Count > 0)
                _warnings.Add($"{root}: {v.Count} scripts or programs have no exec bit (a recursive chmod of the bash era took it), e.g. {string.Join(", ", v.Examples)}; "
                    + "not changed: their owners restore them with chmod +x");
        }
    }

    private static bool LostExecBit(in WalkEntry e)
    {
        if (!e.Stat.IsFile || (e.Stat.Perm & O(111)) != 0 || e.Stat.Size < 4) return false;
        var name = e.Name;
        var inBin = e.ParentPath.EndsWith("/bin");
        if (!inBin && !name.EndsWith(".sh"u8)) return false;
        using var fd = Sys.TryOpenAt(e.Parent.Fd, e.ZName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_NOATIME, out var errno)
            ?? Sys.TryOpenAt(e.Parent.Fd, e.ZName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, out errno);
        if (fd is null) return false;
        var head = new byte[4];
        using var h = new SafeFileHandle(fd.DangerousGetHandle(), ownsHandle: false);
        int n;
        try { n = RandomAccess.Read(h, head, 0); }
        catch (IOException) { return false; }
        return n == 4 && ((head[0] == '#' && head[1] == '!') || (head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' && head[3] == 'F'));
    }

    private delegate bool EntryTest(in WalkEntry e);

    private sealed class Scan(EntryTest test, Func<FileStat, bool>? dirCheck = null) : IWalkVisitor
    {
        private int _count;
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _examples = new();
        public int Count => _count;
        public IEnumerable<string> Examples => _examples.Take(5);

        private void Hit(string path)
        {
            if (Interlocked.Increment(ref _count) <= 5) _examples.Enqueue(path);
        }

        public bool VisitDirectory(SafeFd dir, in FileStat stat, string path, int depth)
        {
            if (depth > 0 && dirCheck?.Invoke(stat) == true) Hit(path);
            return true;
        }

        public void VisitEntry(in WalkEntry e) { if (test(e)) Hit(e.Path); }

        public void OnError(string path, SysException error) { }
    }

    // ---------------------------------------------------------------- report

    public static string RenderReport(AdoptResult r)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"aica adopt{(r.DryRun ? " (dry run)" : "")}: group {r.Config.Group} (gid {r.Config.Gid})");
        if (r.BackupDir is not null) sb.AppendLine($"backups of everything replaced: {r.BackupDir}");
        foreach (var c in r.Changes) sb.AppendLine($"{c.Action,-8} {c.Path}: {c.Detail}");
        foreach (var p in r.Planned) sb.AppendLine($"plan     {p.Item.Describe} ({p.Drift.Summary})");
        if (r.Init?.Applied is { } a)
            foreach (var x in a.Actions) sb.AppendLine(x.Ok ? $"init     {x.Item.Describe} (was: {x.Drift.Summary})" : $"FAILED   {x.Item.Describe}: {x.Error}");
        foreach (var w in r.Warnings) sb.AppendLine($"warning  {w}");
        foreach (var p in r.Problems) sb.AppendLine($"PROBLEM  {p}");
        return sb.ToString();
    }
}
