using System.Text;
using Aica.Accounts;
using Aica.Config;
using Aica.Engine;
using static Aica.Native.Perms;

namespace Aica.Services;

/// <param name="Users">Whose accounts and homes to include; null: every registered user, empty: the shared parts only.</param>
public sealed record InitOptions(string? Group = null, int? Gid = null, string? Layout = null, bool DryRun = false, IReadOnlyCollection<string>? Users = null);

public sealed record InitResult(AicaConfig Config, bool ConfigChanged, IReadOnlyList<PlannedAction> Planned, ApplyReport? Applied,
    IReadOnlyList<string> Problems, IReadOnlyList<string> Notes)
{
    public bool NoChanges => !ConfigChanged && Planned.Count == 0 && (Applied is null || Applied.Actions.Count == 0);
    public bool Failed => Applied?.AnyFailed == true;
    /// <summary>Changes made (or planned), the config file included: the number the summary and the log both give.</summary>
    public int Changes => (ConfigChanged ? 1 : 0) + (Applied?.Actions.Count(a => a.Ok) ?? Planned.Count);
}

/// <summary>aica init: records the group and gid, then applies the whole desired state (SPEC §7).</summary>
public sealed class InitService(AicaServices s)
{
    public async Task<InitResult> Run(InitOptions o, CancellationToken ct)
    {
        if (o.Group is not null && Names.ValidateGroup(o.Group) is { } ge) throw AicaException.Usage(ge);
        if (o.Gid is { } g0 && Names.ValidateId(g0, "gid") is { } ie) throw AicaException.Usage(ie);
        if (o.Layout is not null && Names.ValidateLayout(o.Layout) is { } le) throw AicaException.Usage(le);
        if (!o.DryRun) s.RequireRoot("init");
        s.RequireDataMounted();

        using var _ = o.DryRun ? null : s.Lock(ct);
        var existing = s.ConfigExists ? s.LoadConfig() : null;
        if (existing is not null && o.Group is not null && o.Group != existing.Group)
            throw AicaException.Usage($"aica.toml already names group {existing.Group}; edit {s.Fs.Host(AicaConfig.ConfigPath)} to change it");
        if (existing?.Gid is { } eg && o.Gid is { } og && og != eg)
            throw AicaException.Usage($"aica.toml already records gid {eg} for {existing.Group}");

        var db = s.Accounts.Load();
        var group = o.Group ?? existing?.Group ?? new AicaConfig().Group;
        var live = db.Group(group);
        if (live is not null && o.Gid is { } want && live.Gid != want)
            throw AicaException.Usage($"group {group} already exists with gid {live.Gid}, not {want}");
        var gid = existing?.Gid ?? o.Gid ?? live?.Gid ?? FreeGid(db, 2000);
        if (live is null && db.GroupById(gid) is { } taken)
            throw AicaException.Usage($"gid {gid} is already used by group {taken.Name}; choose another with --gid");

        var config = (existing ?? new AicaConfig()) with { Group = group, Gid = gid, DefaultLayout = o.Layout ?? existing?.DefaultLayout ?? "symlink" };
        var configChanged = existing is null || existing.Gid is null || existing.DefaultLayout != config.DefaultLayout;

        var state = s.Builder(config).Build(s.Registry.Load(), db, s.SelfExe, o.Users);
        var ctx = s.Context(config);
        if (o.DryRun)
            return new InitResult(config, configChanged, new StateEngine(ctx).Plan(state), null, state.Problems, []);

        string? kept = null;
        if (configChanged)
        {
            s.Fs.EnsureParents(AicaConfig.ConfigPath);
            if (s.Fs.Lstat("/data/config") is null) s.Fs.Mkdir("/data/config", O(755), 0, 0);
            // The file is written from the model: the admin's comments and layout would go. The old one is kept first.
            if (existing is not null && s.Fs.ReadFile(AicaConfig.ConfigPath) is { } previous) kept = KeepPrevious(config, previous);
            s.Fs.WriteAtomic(AicaConfig.ConfigPath, Encoding.UTF8.GetBytes(config.Render()), O(644));
        }
        var report = await new StateEngine(ctx).Apply(state, ct).ConfigureAwait(false);
        var notes = new List<string>(ctx.Notes);
        if (kept is not null) notes.Add($"{AicaConfig.ConfigPath} rewritten (group gid, default layout); the previous file, comments included, is kept in {kept}");
        notes.Add(await EnableUnit(ct).ConfigureAwait(false));
        if (configChanged || report.Actions.Count > 0) // a run with nothing to do touches no file, the log included
            s.Log("init", $"group {config.Group} gid {gid}: {(configChanged ? 1 : 0) + report.Actions.Count(a => a.Ok)} changes, {report.Actions.Count(a => !a.Ok)} failed");
        return new InitResult(config, configChanged, [], report, state.Problems, notes);
    }

    /// <summary>Copies the previous aica.toml byte for byte to <c>BACKUPS/init_TS[-N]/aica.toml</c> (a folder no earlier run used).</summary>
    private string KeepPrevious(AicaConfig config, byte[] previous)
    {
        var dir = BackupDirs.Make(s.Fs, config.BackupDir, "init", s.Clock, unique: true);
        s.Fs.WriteAtomic($"{dir}/aica.toml", previous, O(644));
        return $"{dir}/aica.toml";
    }

    private static int FreeGid(AccountDb db, int from)
    {
        var gid = from;
        while (db.GroupById(gid) is not null || db.UserById(gid) is not null) gid++;
        return gid;
    }

    /// <summary>Enables the unit with systemctl when systemd runs this host; otherwise says so.</summary>
    private async Task<string> EnableUnit(CancellationToken ct)
    {
        if (!s.Fs.IsRealRoot) return $"unit written under --root; not enabled (enable it on the real host: systemctl enable {Templates.UnitName})";
        if (!Directory.Exists("/run/systemd/system")) return $"systemd is not running here: unit written, enable it at boot with systemctl enable {Templates.UnitName}";
        var reload = await s.Runner.RunAsync("systemctl", ["daemon-reload"], ct).ConfigureAwait(false);
        var en = await s.Runner.RunAsync("systemctl", ["enable", Templates.UnitName], ct).ConfigureAwait(false);
        return reload.Ok && en.Ok ? $"enabled {Templates.UnitName}" : $"systemctl enable {Templates.UnitName} failed: {en.Brief}";
    }
}
