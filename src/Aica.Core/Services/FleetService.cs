using Aica.Config;
using Aica.Contracts;
using Aica.Engine;
using Aica.Fleet;
using Aica.Native;

using Aica.Site;

namespace Aica.Services;

/// <summary>One node as <c>aica fleet status</c> sees it: its file, and every reason to look at it.</summary>
public sealed record FleetNode(NodeFile File, bool Stale, bool OtherGeneration, bool VersionSkew, TimeSpan? Age, TimeSpan? ClockOffset, IReadOnlyList<string> Flags)
{
    public NodeStatus? Status => File.Status;
    public string Host => File.Status?.Host ?? File.Name;
    public bool Ok => Flags.Count == 0;
}

public sealed record FleetReport(long RegistryGeneration, string Version, DateTimeOffset Now, IReadOnlyList<FleetNode> Nodes)
{
    public int Problems => Nodes.Count(n => !n.Ok);
    public int ExitCode => Problems > 0 ? ExitCodes.Failed : ExitCodes.Ok;
}

/// <summary>
/// aica fleet status (issue 14): the node files on /data, no ssh. A node is stale when its file was not written for more
/// than three of its sync intervals (by the file's modification time: the file server's clock, not the node's), on
/// another generation when it applied another registry generation than the file holds now, skewed when it runs another
/// aica version than this one; its id conflicts are listed. A torn or foreign file is reported and never trusted.
/// </summary>
public sealed class FleetService(AicaServices s)
{
    /// <summary>A node's clock this far from the file server's is flagged (Kerberos, TLS, logs and make all suffer).</summary>
    public static readonly TimeSpan ClockTolerance = TimeSpan.FromMinutes(2);

    public FleetReport Status()
    {
        var now = s.Clock.Now.ToUniversalTime();
        var generation = s.Registry.Generation();
        var nodes = new List<FleetNode>();
        foreach (var f in new NodeStatusStore(s.Fs).ReadAll())
        {
            if (f.Status is not { } st)
            {
                nodes.Add(new FleetNode(f, false, false, false, now - f.Modified, null, [$"unreadable: {f.Problem}"]));
                continue;
            }
            var flags = new List<string>();
            var interval = TimeSpan.FromSeconds(st.SyncIntervalS > 0 ? st.SyncIntervalS : new AicaConfig().SyncIntervalSeconds);
            var age = f.Modified is { } m ? now - m : (TimeSpan?)null;
            var stale = age is { } a && a > 3 * interval;
            if (stale) flags.Add($"stale: not written for {Ago(age!.Value)} (sync every {Ago(interval)})");
            var other = st.GenerationApplied != generation;
            if (other) flags.Add(st.GenerationApplied is { } g ? $"on generation {g}, the registry is at {generation}" : "has applied no generation yet");
            if (st.LastRecovery is { Status: not "ok" } lr) flags.Add($"last recovery {lr.Status} ({lr.Failed} of {lr.Users} users failed)");
            foreach (var c in st.IdConflicts.Take(5)) flags.Add($"id conflict: {c.Detail}");
            if (st.IdConflicts.Count > 5) flags.Add($"... and {st.IdConflicts.Count - 5} more id conflicts");
            var skew = st.Version != s.Version;
            if (skew) flags.Add($"runs aica {st.Version}, this is {s.Version}");
            // Written time (the node's clock) against the file's time (the server's). A no-op sync only touches the file, so
            // the file may be newer than its content says; a file older than its own written time means the node's clock is ahead.
            var offset = f.Modified is { } mm && st.WrittenAt != default ? st.WrittenAt - mm : (TimeSpan?)null;
            if (offset > ClockTolerance) flags.Add($"clock ahead of the file server's by {Ago(offset.Value)}");
            nodes.Add(new FleetNode(f, stale, other, skew, age, offset, flags));
        }
        return new FleetReport(generation, s.Version, now, nodes);
    }

    /// <summary>doctor: another node reports an id conflict for a user (or group) this node also has registered.</summary>
    public CheckResult OtherNodesConflicts(string? onlyUser)
    {
        const string id = "fleet.conflicts";
        var me = NodeStatusStore.FileName(Sys.HostName());
        var files = new NodeStatusStore(s.Fs).ReadAll().Where(f => f.Name != me).ToList();
        if (files.Count == 0) return new CheckResult(id, CheckStatus.Pass, "no other node has written a status to /data/admin/nodes");
        var found = files.Where(f => f.Status is not null)
            .SelectMany(f => f.Status!.IdConflicts.Select(c => (Host: f.Status.Host, Conflict: c)))
            .Where(x => onlyUser is null || x.Conflict.User == onlyUser).ToList();
        if (found.Count == 0) return new CheckResult(id, CheckStatus.Pass, $"no id conflict reported by the {files.Count} other node(s)");
        var users = found.Select(x => x.Conflict.User).Distinct().ToList();
        return new CheckResult(id, CheckStatus.Warn,
            $"{found.Count} id conflict(s) on other nodes for {string.Join(", ", users.Take(10))}{(users.Count > 10 ? ", ..." : "")}: files they write on /data get other owners there",
            string.Join("; ", CappedList.Of(found.Select(x => $"{x.Host}: {x.Conflict.Detail}"), 20)),
            "on the node named: move the local account off the registered id (or remove it), then aica recover there; aica fleet status shows all nodes");
    }

    public static string Ago(TimeSpan t) =>
        t.TotalSeconds < 90 ? $"{t.TotalSeconds:0}s" : t.TotalMinutes < 90 ? $"{t.TotalMinutes:0}min" : t.TotalHours < 48 ? $"{t.TotalHours:0}h" : $"{t.TotalDays:0}d";
}
