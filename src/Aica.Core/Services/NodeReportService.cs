using Aica.Accounts;
using Aica.Config;
using Aica.Contracts;
using Aica.Engine;
using Aica.Fleet;
using Aica.Native;

using Aica.Site;

namespace Aica.Services;

/// <summary>
/// Writes this node's status to /data/admin/nodes/HOST.json after recover, sync and doctor (issue 14), carrying forward
/// what the run did not redo. Never fails the command that called it: the status is a report, not a result.
/// </summary>
public sealed class NodeReportService(AicaServices s)
{
    /// <summary>Id conflicts listed in one node file before the rest are only counted.</summary>
    public const int MaxConflicts = 50;

    private readonly NodeStatusStore _store = new(s.Fs);
    private string Host => Sys.HostName();

    public void AfterRecover(RecoveryReport r, Registry registry, AccountDb db, AicaConfig config, long? applied) =>
        Write(old => old with
        {
            GenerationApplied = applied ?? old.GenerationApplied,
            GenerationSeen = registry.Generation,
            LastRecovery = new RecoveryOutcome(s.Clock.Now.ToUniversalTime(), r.Status, Math.Round(r.DurationMs, 1), r.Users, r.Failed),
            IdConflicts = Conflicts(registry, db, config),
            Gpus = Gpus(),
        }, config);

    public void AfterDoctor(DoctorReport r, Registry registry, AccountDb db, AicaConfig config) =>
        Write(old => old with
        {
            Doctor = new DoctorSummary(s.Clock.Now.ToUniversalTime(), r.Count(CheckStatus.Pass), r.Count(CheckStatus.Warn), r.Count(CheckStatus.Fail)),
            IdConflicts = Conflicts(registry, db, config),
        }, config);

    private void Write(Func<NodeStatus, NodeStatus> change, AicaConfig config)
    {
        try
        {
            var old = _store.ReadOwn(Host) ?? new NodeStatus();
            var next = change(old) with
            {
                Schema = NodeStatus.CurrentSchema, Host = Host, Version = s.Version, WrittenAt = s.Clock.Now.ToUniversalTime(),
                SyncIntervalS = config.SyncIntervalSeconds,
            };
            _store.Write(next);
        }
        catch (Exception e) when (e is SysException or IOException or ArgumentException) { /* a read-only or full /data: the command's own result stands */ }
    }

    /// <summary>Registered users (and the shared group) whose recorded ids this node does not or cannot give them.</summary>
    public static List<IdConflict> Conflicts(Registry registry, AccountDb db, AicaConfig config)
    {
        var list = new List<IdConflict>();
        var shared = db.Group(config.Group);
        if (config.Gid is { } g && shared is not null && shared.Gid != g)
            list.Add(new IdConflict(config.Group, "group", g, shared.Gid, $"group {config.Group} has gid {shared.Gid} here, aica.toml records {g}"));
        else if (config.Gid is { } g2 && shared is null && db.GroupById(g2) is { } holder)
            list.Add(new IdConflict(config.Group, "group", g2, holder.Gid, $"gid {g2} of group {config.Group} is taken by local group {holder.Name}"));
        foreach (var u in registry.Users)
        {
            if (list.Count >= MaxConflicts) break;
            if (u.Uid is not { } uid || u.Gid is not { } gid) continue; // a legacy line takes the live ids: nothing to disagree with
            var live = db.User(u.Name);
            if (live is not null)
            {
                if (live.Uid != uid) list.Add(new IdConflict(u.Name, "uid", uid, live.Uid, $"{u.Name} has uid {live.Uid} here, the registry records {uid}"));
                else if (live.Gid != gid) list.Add(new IdConflict(u.Name, "gid", gid, live.Gid, $"{u.Name} has primary gid {live.Gid} here, the registry records {gid}"));
                continue;
            }
            if (db.UserById(uid) is { } other)
                list.Add(new IdConflict(u.Name, "uid", uid, null, $"uid {uid} of {u.Name} is taken by local account {other.Name}"));
            else if (gid != shared?.Gid && db.GroupById(gid) is { } og && og.Name != u.Name)
                list.Add(new IdConflict(u.Name, "gid", gid, null, $"gid {gid} of {u.Name} is taken by local group {og.Name}"));
        }
        return list;
    }

    /// <summary>The GPUs this node sees (<see cref="Site.Gpus"/>), else the /dev/nvidiaN devices.</summary>
    private List<string> Gpus()
    {
        try
        {
            if (Site.Gpus.Read(s.Runner) is { Lines.Count: > 0 } gpus) return [.. gpus.Lines];
            return [.. s.Fs.List("/dev").Where(n => n.Length > 6 && n.StartsWith("nvidia", StringComparison.Ordinal) && n[6..].All(char.IsAsciiDigit))
                .Order(StringComparer.Ordinal).Select(n => "/dev/" + n).Take(64)];
        }
        catch (Exception e) when (e is SysException or IOException or InvalidOperationException or System.ComponentModel.Win32Exception) { return []; }
    }
}
