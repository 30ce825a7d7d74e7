using System.Text;
using System.Text.RegularExpressions;
using Aica.Accounts;
using Aica.Config;
using Aica.Engine;
using Aica.IO;
using Aica.Integration;
using Aica.Native;
using Aica.Site;
using Aica.Users;
using static Aica.Native.Flags;
using static Aica.Native.Perms;

namespace Aica.Services;

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
/// marker), records the live accounts' ids in the registry, writes aica.toml, and builds engine items for the rest:
/// planted links and retired files must be absent (<see cref="RetiredFiles"/>; backed up first), the old scripts become
/// the compatibility wrappers, group-writable folders lose group/world write. The engine plans them (--dry-run) or
/// applies them; then init, the same engine, fixes the dangerous modes (group-writable /data, /data/config,
/// /data/apps; 777 caches). Nothing under /data/users is written: files there are only read, to report executables
/// that lost their exec bits.
/// </summary>
public sealed partial class AdoptService(AicaServices s)
{
    public static readonly string[] LegacyConfigDirs = ["/data/config", "/data/system/config"];

    /// <summary>global_env.sh variable → how aica treats it.</summary>
    private static readonly Dictionary<string, string> CacheKeys = new()
    {
        ["CONDA_PKGS_DIRS"] = "conda", ["TORCH_HOME"] = "torch", ["HF_HUB_CACHE"] = "hf.hub", ["HF_DATASETS_CACHE"] = "hf.datasets",
        ["COMFYUI_HOME"] = "comfyui", ["FLUX_HOME"] = "flux",
    };

    /// <summary>What one run found and did (the service itself keeps nothing between runs).</summary>
    private sealed class Findings
    {
        public List<AdoptChange> Changes { get; } = [];
        public List<string> Problems { get; } = [];
        public List<string> Warnings { get; } = [];
        /// <summary>Users adopt already explained: the engine's lines about them are not repeated.</summary>
        public HashSet<string> ReportedUsers { get; } = [];

        public void Change(string action, string path, string detail) => Changes.Add(new AdoptChange(action, path, detail));

        /// <summary>The engine's own line about a user adopt already explained (or a registry line problem already listed).</summary>
        public bool AlreadyReported(string problem) =>
            Problems.Contains(problem) || Problems.Contains($"{problem} (the line is kept as it is)")
            || ReportedUsers.Any(u => problem.StartsWith(u + ": "));
    }

    /// <summary>
    /// One engine item with its line in the adopt report. Items of one step run as one unit: a file's backup and its
    /// replacement are one change, and a conflict in one step never stops another.
    /// </summary>
    private sealed record Step(IReadOnlyList<Item> Items, string Action, string Detail, bool IsProblem = false)
    {
        public Step(Item item, string action, string detail, bool isProblem = false) : this([item], action, detail, isProblem) { }
    }

    public async Task<AdoptResult> Run(bool dryRun, CancellationToken ct)
    {
        if (!dryRun) s.RequireRoot("adopt");
        s.RequireDataMounted();
        var f = new Findings();
        AicaConfig config;
        Registry registry;
        Accounts.AccountDb db;
        var stamp = s.Clock.Stamp();
        var backupRoot = $"{new AicaConfig().BackupDir}/adopt_{stamp}";
        using (dryRun ? null : s.Lock(ct))
        {
            db = s.Accounts.Load();
            await Do(PlantedLinks(backupRoot), new AicaConfig(), dryRun, f, ct); // before anything reads through them
            var existing = s.ConfigExists ? s.LoadConfig() : null;
            if (existing is not null && s.Fs.Lstat(backupRoot) is null) backupRoot = $"{existing.BackupDir}/adopt_{stamp}";
            var env = ReadGlobalEnv();
            config = existing ?? NewConfig(env, db, f);
            registry = AdoptRegistry(config, db, backupRoot, dryRun, f, ct);
            await Do(RetireSteps(config, env, backupRoot, f), config, dryRun, f, ct);
        }

        // The same engine as init (and recover, and doctor) makes the rest true, for the shared parts only: adopt
        // never writes under /data/users (the users' homes are set up by the next recover, or aica user fix).
        IReadOnlyList<PlannedAction> planned = [];
        InitResult? init = null;
        if (config.Gid is null) { } // the group is missing: reported above; init would invent a new gid
        else if (dryRun)
        {
            var state = s.Builder(config).Build(registry, db, s.SelfExe, []); // a dry run changed no account
            planned = new StateEngine(s.Context(config).WithAccounts(db)).Plan(state);
            f.Problems.AddRange(state.Problems.Where(p => !f.AlreadyReported(p)));
        }
        else
        {
            init = await new InitService(s).Run(new InitOptions(Users: []), ct).ConfigureAwait(false);
            f.Problems.AddRange(init.Problems.Where(p => !f.AlreadyReported(p)));
        }

        var report = new BashEraReport(s);
        report.ReportCrontabs(f.Warnings);
        report.ReportUnregisteredMembers(config, registry, init is null ? db : s.Accounts.Load(), f.Warnings); // init may have made the group
        report.ReportSharedContents(config, f.Warnings);
        report.ReportStrippedExecBits(config, registry, f.Warnings);

        string? reportPath = null;
        var backup = !dryRun && s.Fs.Lstat(backupRoot) is not null ? backupRoot : null;
        var result = new AdoptResult(dryRun, config, backup, null, f.Changes, f.Problems, f.Warnings, planned, init);
        if (!dryRun && !result.NoChanges)
        {
            reportPath = $"{config.ReportsDir}/adopt_{stamp}.txt";
            s.Fs.EnsureParents(reportPath);
            s.Fs.WriteAtomic(reportPath, Encoding.UTF8.GetBytes(RenderReport(result)), O(640));
            s.Log("adopt", $"{f.Changes.Count} changes, {init?.Applied?.Actions.Count ?? 0} engine actions, {f.Problems.Count} problems; report {reportPath}");
        }
        return result with { ReportPath = reportPath };
    }

    /// <summary>
    /// Plans (dry run) or applies the steps through the engine and turns what it found into report lines: one change
    /// per step that had anything to do, conflicts as problems (failures) or warnings, apply errors as problems.
    /// </summary>
    private async Task Do(IReadOnlyList<Step> steps, AicaConfig config, bool dryRun, Findings f, CancellationToken ct)
    {
        var units = steps.Select((x, i) => new Unit(Phase.Etc, $"adopt {i}", null, x.Items)).ToList();
        var stepOf = units.Zip(steps).ToDictionary(p => p.First, p => p.Second);
        var state = new DesiredState(units, []);
        var engine = new StateEngine(s.Context(config));
        var found = dryRun
            ? engine.Plan(state).Select(p => (p.Unit, p.Item, p.Drift, Error: (string?)null))
            : (await engine.Apply(state, ct).ConfigureAwait(false)).Actions.Select(a => (a.Unit, a.Item, a.Drift, a.Error));
        var reported = new HashSet<Unit>();
        foreach (var (unit, item, drift, error) in found)
        {
            if (!reported.Add(unit)) continue; // the step's first difference tells what it does
            var step = stepOf[unit];
            if (drift.Conflict)
            {
                (drift.Severity == CheckStatus.Fail ? f.Problems : f.Warnings).Add(drift.Summary);
                continue;
            }
            if (step.IsProblem) f.Problems.Add($"{drift.Summary}; kept in the backup: restore the real file from your own backup if it existed");
            if (error is not null) { f.Problems.Add($"{step.Action} {item.Subject}: {error}"); continue; }
            f.Change(step.Action, item.Subject, step.Detail);
        }
    }

    /// <summary>
    /// The bash era left /data and /data/config group-writable, so a member may have replaced a file adopt reads with
    /// a link (to /etc/shadow, say). Such a link must go: it is never followed, moved into the backup as a link, and
    /// reported (exit 1): the file it stood for is treated as missing. A real file or folder there stays.
    /// </summary>
    private static List<Step> PlantedLinks(string backupRoot)
    {
        var paths = new List<string> { "/data/config", "/data/system", "/data/system/config", AicaConfig.ConfigPath };
        foreach (var d in LegacyConfigDirs) { paths.Add($"{d}/users.txt"); paths.Add($"{d}/global_env.sh"); }
        return paths.Distinct().Select(p => new Step(
            new AbsentItem(p, Removal.BackupFirst, "adopt.planted-link", "planted while the folder was group-writable?")
                { Only = Kinds.Link, WarnOthers = false, BackupDir = backupRoot, Severity = CheckStatus.Fail, Fix = "aica adopt" },
            "remove", "planted link, moved to the backup as a link", true)).ToList();
    }

    // ---------------------------------------------------------------- reading the bash era

    /// <summary>A bash-era file's text; null when missing, not a regular file, or a link (never read through).</summary>
    private string? ReadOwn(string path)
    {
        try { return s.Fs.Lstat(path) is { IsFile: true } ? s.Fs.ReadText(path) : null; }
        catch (SysException e) when (e.Errno is ELOOP or ENOTDIR) { return null; }
    }

    /// <summary>The exports of global_env.sh (the first one found), or null.</summary>
    private (string Path, Dictionary<string, string> Vars)? ReadGlobalEnv()
    {
        foreach (var dir in LegacyConfigDirs)
        {
            var path = $"{dir}/global_env.sh";
            var text = ReadOwn(path);
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
    private AicaConfig NewConfig((string Path, Dictionary<string, string> Vars)? env, Accounts.AccountDb db, Findings f)
    {
        var c = new AicaConfig();
        var group = (ReadOwn(RetiredFiles.LegacySudoers) is { } sudoers ? RetiredFiles.SudoersGroup(sudoers) : null) ?? GroupFromRegistry() ?? c.Group;
        if (Names.ValidateGroup(group) is not null) group = c.Group;
        var live = db.Group(group);
        if (live is null) f.Problems.Add($"group {group} (used by the bash scripts) does not exist on this server: create it with the gid it had (aica init --group {group} --gid N), then rerun aica adopt");
        c = c with { Group = group, Gid = live?.Gid };
        if (env is { } e)
        {
            foreach (var (name, value) in e.Vars)
            {
                if (CacheKeys.TryGetValue(name, out var id))
                {
                    if (!Names.IsCleanDataPath(value)) { f.Warnings.Add($"{e.Path}: {name}={value} is not a clean path under /data; the default is kept"); continue; }
                    c = id switch
                    {
                        "conda" => c with { CondaPkgs = value }, "torch" => c with { TorchHome = value }, "hf.hub" => c with { HfHub = value },
                        "hf.datasets" => c with { HfDatasets = value }, "comfyui" => c with { ComfyUi = value }, _ => c with { Flux = value },
                    };
                }
                else if (name == "HF_HOME")
                    f.Warnings.Add($"{e.Path}: HF_HOME={value} was shared; aica keeps HF_HOME per user (it holds the user's token) and shares only HF_HUB_CACHE and HF_DATASETS_CACHE");
                else if (name is "TRANSFORMERS_CACHE" or "PIP_CACHE_DIR" or "UV_CACHE_DIR" or "CONDA_ENVS_PATH")
                    f.Warnings.Add($"{e.Path}: {name}={value} is not carried over (per-user caches and environments live in each user's home on /data)");
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

    private string? GroupFromRegistry() =>
        LegacyConfigDirs.Select(d => ReadOwn($"{d}/users.txt")).FirstOrDefault(t => t is not null) is { } t
            ? Registry.Parse(t).Users.GroupBy(u => u.Group).OrderByDescending(g => g.Count()).FirstOrDefault()?.Key : null;

    // ---------------------------------------------------------------- registry

    /// <summary>Two-field lines get the live account's uid, gid, shell and layout; a user without an account is reported and the line kept.</summary>
    private Registry AdoptRegistry(AicaConfig config, Accounts.AccountDb db, string backupRoot, bool dry, Findings f, CancellationToken ct)
    {
        if (s.Fs.Lstat(AicaConfig.RegistryPath) is null && s.Fs.ReadFile("/data/system/config/users.txt") is { } old)
        {
            f.Change("copy", AicaConfig.RegistryPath, "from /data/system/config/users.txt (the old location is left as it was)");
            if (!dry)
            {
                s.Fs.EnsureParents(AicaConfig.RegistryPath);
                s.Fs.WriteAtomic(AicaConfig.RegistryPath, old, O(644)); // byte for byte
            }
        }
        var current = s.Registry.Load();
        foreach (var p in current.Problems) f.Problems.Add($"{p} (the line is kept as it is)");
        var upgrades = new List<UserEntry>();
        foreach (var u in current.Users.Where(u => u.IsLegacy))
        {
            var live = db.User(u.Name);
            if (live is null)
            {
                f.ReportedUsers.Add(u.Name);
                f.Problems.Add($"users.txt line {u.Line}: {u.Name} has no account on this server and no uid recorded; the line is kept. "
                    + $"Re-create the account with its old uid (aica user add {u.Name} --uid N) or remove the line");
                continue;
            }
            var home = s.Fs.Lstat($"/home/{u.Name}");
            var layout = home is { IsLink: true } || home is null ? "symlink" : config.DefaultLayout;
            upgrades.Add(u with { Uid = live.Uid, Gid = live.Gid, Shell = Names.ValidateShell(live.Shell) is null ? live.Shell : config.DefaultShell, Layout = layout });
        }
        if (upgrades.Count == 0) return current;
        foreach (var u in upgrades) f.Change("upgrade", AicaConfig.RegistryPath, $"line {u.Line}: {u.Name}:{u.Group} -> {u.Render()} (ids of the live account)");
        if (dry)
        {
            var copy = Registry.Parse(current.Render());
            foreach (var u in upgrades) copy.Upsert(u);
            return copy;
        }
        BackupArea.Copy(s.Fs, backupRoot, AicaConfig.RegistryPath, ct); // edited in place: a copy of the old lines
        return s.Registry.Update(reg => { foreach (var u in upgrades) reg.Upsert(u); return reg; }, s.Wait, ct);
    }

    // ---------------------------------------------------------------- the items

    private const string GlobalEnvStub = "# Replaced by aica adopt: the environment comes from /etc/profile.d/aica.sh (settings in /data/config/aica.toml).\n"
        + "# Kept so that old `source` lines in shell startup files still work; it sets nothing.\n";

    /// <summary>What adopt changes besides the registry, as engine items, in the order they are applied.</summary>
    private List<Step> RetireSteps(AicaConfig config, (string Path, Dictionary<string, string> Vars)? env, string backupRoot, Findings f)
    {
        var steps = new List<Step>();
        if (!s.ConfigExists)
            steps.Add(new Step(new FileItem(AicaConfig.ConfigPath, config.Render(), O(644), "config.file"), "write",
                $"group {config.Group} (gid {config.Gid}), caches and conda root from the bash-era settings"));

        // global_env.sh becomes a stub (old ~/.bashrc lines may source it); its values went into aica.toml.
        if (env is { } e)
            steps.Add(new Step([
                    new AbsentItem(e.Path, Removal.BackupFirst, "adopt.global-env", "the bash-era variables, now in aica.toml")
                        { BackupDir = backupRoot, Only = Kinds.File, Unless = ctx => ctx.Fs.ReadText(e.Path) == GlobalEnvStub },
                    new FileItem(e.Path, GlobalEnvStub, O(644), "adopt.global-env"),
                ], "replace", "with a stub that sets nothing (values moved to aica.toml; /etc/profile.d/aica.sh exports them)"));

        foreach (var item in RetiredFiles.Items(backupRoot)) steps.Add(new Step(item, "remove", item.Why));
        if (ReadOwn(RetiredFiles.RecoveryMarker) is not null)
            foreach (var (path, line) in new BashEraReport(s).GrepEtc("recovery-complete"))
                f.Warnings.Add($"{path}: '{line}' waits for the bash-era marker; aica's unit runs before logins (remove this line)");

        // The bash era's unit had aica's unit name: backed up and replaced by aica's (only when init runs after).
        if (config.Gid is not null && ReadOwn(Templates.UnitPath) is { } unitText && unitText != Templates.Unit(config))
        {
            var aicaUnit = s.Builder(config).EtcItems().Single(i => i.Subject == Templates.UnitPath);
            steps.Add(new Step([
                    new AbsentItem(Templates.UnitPath, Removal.BackupFirst, "adopt.unit", "the bash-era unit")
                        { BackupDir = backupRoot, Only = Kinds.File, Unless = ctx => ctx.Fs.ReadText(Templates.UnitPath) == Templates.Unit(config) },
                    aicaUnit,
                ], "replace", $"the bash-era unit ({unitText.Split('\n').FirstOrDefault(l => l.StartsWith("ExecStart="))?.Trim() ?? "other content"}); init writes aica's"));
        }

        steps.AddRange(ScriptSteps(backupRoot, f));
        steps.AddRange(OtherCacheSteps(config));
        return steps;
    }

    /// <summary>
    /// The old scripts that crontabs and habits call are replaced by the wrappers (same names, exec aica); the folder
    /// becomes root-owned and not group-writable (root runs these from cron). Other old scripts are only reported.
    /// </summary>
    private IEnumerable<Step> ScriptSteps(string backupRoot, Findings f)
    {
        foreach (var dir in RetiredFiles.LegacyScriptDirs)
        {
            if (s.Fs.Lstat(dir) is { IsLink: true })
            {
                f.Warnings.Add($"{dir} is a symbolic link to {s.Fs.ShowLink(dir)}: not followed, no wrappers put there");
                continue;
            }
            if (s.Fs.Lstat(dir) is not { IsDir: true }) continue;
            var names = s.Fs.List(dir).ToHashSet();
            if (!RetiredFiles.WrappedScripts.Any(names.Contains)) continue;
            // The folder and every folder above it: whoever can write a parent can rename the folder away and put
            // their own scripts under its name (a bash-era clone made from a member's account, say), run by root.
            var parts = dir.Split('/', StringSplitOptions.RemoveEmptyEntries);
            for (var i = 1; i <= parts.Length; i++)
            {
                var p = "/" + string.Join('/', parts[..i]);
                if (s.Fs.Lstat(p) is not { IsDir: true } ps || (ps.OnlyRootWrites && ps.Gid == 0)) continue;
                yield return new Step(new DirItem(p, 0, 0, ps.Perm & ~O(2022), id: "adopt.scripts"), "fix",
                    $"was {Convert.ToString(ps.Perm, 8)} {ps.Uid}:{ps.Gid}, now root:root without group/world write (root runs the scripts in {dir})");
            }
            foreach (var name in RetiredFiles.WrappedScripts)
            {
                var path = $"{dir}/{name}";
                var wrapper = Templates.Raw(name);
                var present = s.Fs.Lstat(path) is not null;
                yield return new Step([
                        new AbsentItem(path, Removal.BackupFirst, "adopt.script", "a bash-era script")
                        {
                            BackupDir = backupRoot, Only = Kinds.File | Kinds.Link,
                            Unless = ctx => ctx.Fs.Lstat(path) is { Uid: 0, Gid: 0 } c && c.Perm == O(755) && ctx.Fs.ReadText(path) == wrapper,
                        },
                        new FileItem(path, wrapper, O(755), "adopt.wrapper"),
                    ], present ? "replace" : "write", "with the compatibility wrapper (exec /data/bin/aica)");
            }
            var others = names.Where(n => n.EndsWith(".sh") && !RetiredFiles.WrappedScripts.Contains(n)).Order().ToList();
            if (others.Count > 0)
                f.Warnings.Add($"{dir}: no aica wrapper for {string.Join(", ", others)}: no longer needed (aica install, aica user add, aica recover cover them); left as they are");
        }
    }

    /// <summary>Bash-era shared caches aica does not manage (pip, npm, yarn, uv, python): world-writable tops lose o+w.</summary>
    private IEnumerable<Step> OtherCacheSteps(AicaConfig config)
    {
        var managed = config.SharedCaches.Select(c => c.Path).ToHashSet();
        foreach (var root in new[] { "/data/cache", "/data/system/cache", "/data/models" })
        {
            if (s.Fs.Lstat(root) is not { IsDir: true }) continue;
            foreach (var name in s.Fs.List(root))
            {
                var path = $"{root}/{name}";
                if (managed.Contains(path) || managed.Any(m => m.StartsWith(path + "/"))) continue;
                if (s.Fs.Lstat(path) is not { IsDir: true } st || (st.Perm & O(2)) == 0) continue;
                yield return new Step(new DirItem(path, st.Uid, st.Gid, st.Perm & ~O(2), id: "adopt.cache"), "fix",
                    $"was {Convert.ToString(st.Perm, 8)} (world-writable: anyone could plant files there), now {Convert.ToString(st.Perm & ~O(2), 8)}");
            }
        }
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
