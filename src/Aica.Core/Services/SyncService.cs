using System.Diagnostics;
using Aica.Config;
using Aica.Fleet;
using Aica.Native;

using Aica.Site;

namespace Aica.Services;

/// <param name="Ran">Recover ran (something changed); null when nothing had to be done.</param>
public sealed record SyncResult(RecoveryReport? Ran, long? Generation, string Reason, double DurationMs)
{
    public int ExitCode => Ran?.ExitCode ?? ExitCodes.Ok;
}

/// <summary>
/// aica sync (issue 14): what the timer on every node runs every fleet.sync_interval. When the registry, aica.toml and
/// the account files still have the fingerprints recorded by the last good recover, it stops after a few stat calls
/// (and marks the node status file current); otherwise it runs recover, which follows what another node changed.
/// </summary>
public sealed class SyncService(AicaServices s)
{
    /// <param name="dryRun">Say whether recover would run, and plan it; change nothing (not even the node file's time).</param>
    public async Task<SyncResult> Run(bool dryRun, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        if (!dryRun) s.RequireRoot("sync");
        var applied = AppliedState.Read(s.Fs);
        // Each input stat'd once: the same list decides the fast path and, on the slow one, says what changed.
        var changed = applied?.Changed(s.Fs) ?? [];
        if (applied is not null && changed.Count == 0)
        {
            if (!dryRun) new NodeStatusStore(s.Fs).Touch(Sys.HostName());
            return new SyncResult(null, applied.Generation, $"generation {applied.Generation} applied, nothing changed", sw.Elapsed.TotalMilliseconds);
        }
        var reason = Why(applied, changed);
        var r = await new RecoverService(s).Run(dryRun, ct).ConfigureAwait(false);
        return new SyncResult(r, AppliedState.Read(s.Fs)?.Generation, reason, sw.Elapsed.TotalMilliseconds);
    }

    /// <summary>Why recover runs: for the one line sync prints (only on the slow path, so reading the registry here costs nothing that matters).</summary>
    private string Why(AppliedState? applied, List<string> changed)
    {
        if (applied is null) return "no applied generation recorded on this node";
        long? now = null;
        try { now = s.Registry.Generation(); } catch (SysException) { }
        var gen = now is { } n && n != applied.Generation ? $"registry generation {applied.Generation} -> {n}; " : "";
        return $"{gen}changed: {string.Join(", ", changed)}";
    }
}
