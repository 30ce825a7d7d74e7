using System.Globalization;
using Aica.Caches;
using Aica.Engine;
using Aica.Native;
using static Aica.Native.Perms;

using Aica.Site;

namespace Aica.Services;

/// <summary>
/// <c>aica metrics</c>: the server's state as Prometheus text (docs/monitoring.md lists every metric). Reads what is
/// already known: a doctor run (read-only, without the checks that walk the shared caches), statvfs of the watched mounts, the status file of the last recovery
/// and the last <c>aica du</c> overview kept on /data; never walks a tree. Labels stay low-cardinality: doctor by
/// category, usage by registered user and shared cache. Every sample carries no timestamp (the textfile collector
/// refuses them); <c>aica_node_info{node}</c> lets fleet dashboards join and aggregate nodes.
/// </summary>
public sealed class MetricsService(AicaServices s)
{
    public const string FileName = "aica.prom";

    public PromText Render(string version)
    {
        var p = new PromText();
        var node = Sys.HostName();
        p.Gauge("aica_node_info", "aica on this node: host name and version (always 1)", [new PromSample(1, ("node", node), ("version", version))]);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var doctor = DoctorService.WithAllChecks(s, walkTrees: false).Run(null, version);
        var doctorSeconds = Math.Round(clock.Elapsed.TotalSeconds, 3);
        var statuses = new[] { CheckStatus.Pass, CheckStatus.Warn, CheckStatus.Fail };
        var byArea = doctor.Checks.GroupBy(c => DoctorReport.Area(c.Id)).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        p.Gauge("aica_doctor_checks", "doctor checks by category and status",
            byArea.SelectMany(g => statuses.Select(st => new PromSample(g.Count(c => c.Status == st), ("category", g.Key), ("status", Name(st))))));
        p.Gauge("aica_doctor_category_status", "worst doctor status of a category: 0 pass, 1 warn, 2 fail",
            byArea.Select(g => new PromSample(g.Max(c => Level(c.Status)), ("category", g.Key))));
        p.Gauge("aica_doctor_status", "worst doctor status of the server: 0 pass, 1 warn, 2 fail", doctor.Checks.Count == 0 ? 0 : doctor.Checks.Max(c => Level(c.Status)));
        p.Gauge("aica_doctor_duration_seconds", "time the doctor checks took", doctorSeconds);

        Recovery(p);
        Disk(p);
        Usage(p);
        return p;
    }

    /// <summary>
    /// Writes DIR/aica.prom atomically (temp file in DIR, fsync, rename, directory fsync): the collector never reads half a
    /// file, and a failed write (missing or unwritable directory, full disk) leaves the previous file whole and is exit 1.
    /// </summary>
    public string WriteTextfile(string dir, string text)
    {
        if (!dir.StartsWith('/') || dir.Contains('\0')) throw AicaException.Usage($"--textfile needs an absolute directory, not '{dir}'");
        dir = dir.TrimEnd('/');
        if (dir.Length == 0) throw AicaException.Usage("--textfile / is not a textfile collector directory");
        var path = dir + "/" + FileName;
        var st = s.Fs.Lstat(dir);
        if (st is null)
            throw new AicaException($"{s.Fs.Host(dir)} does not exist: nothing written (install prometheus-node-exporter, or create the directory its --collector.textfile.directory names)");
        if (!st.Value.IsDir) throw new AicaException($"{s.Fs.Host(dir)} is not a directory{(st.Value.IsLink ? " (a symbolic link: not followed)" : "")}: nothing written");
        try { s.Fs.WriteAtomic(path, System.Text.Encoding.UTF8.GetBytes(text), O(644)); }
        catch (SysException e) { throw new AicaException($"cannot write {s.Fs.Host(path)}: {e.Message} (the previous file, if any, is left whole)"); }
        return s.Fs.Host(path);
    }

    private static string Name(CheckStatus st) => st switch { CheckStatus.Pass => "pass", CheckStatus.Warn => "warn", _ => "fail" };

    private static int Level(CheckStatus st) => st switch { CheckStatus.Pass => 0, CheckStatus.Warn => 1, _ => 2 };

    /// <summary>From /run/aica/recovery.json (what recover writes); absent since boot: aica_recovery_recorded 0 only.</summary>
    private void Recovery(PromText p)
    {
        using var doc = RecoverService.ReadStatus(s);
        p.Gauge("aica_recovery_recorded", "1 when a recovery ran since boot (/run/aica/recovery.json exists)", doc is null ? 0 : 1);
        if (doc is null) return;
        var root = doc.RootElement;
        string? Str(string k) => root.TryGetProperty(k, out var v) && v.ValueKind == System.Text.Json.JsonValueKind.String ? v.GetString() : null;
        double? Num(string k) => root.TryGetProperty(k, out var v) && v.ValueKind == System.Text.Json.JsonValueKind.Number ? v.GetDouble() : null;
        var status = Str("status") ?? "unknown";
        p.Gauge("aica_recovery_last_success", "1 when the last recovery ended ok", status == "ok" ? 1 : 0);
        p.Gauge("aica_recovery_last_status", "the last recovery's status (ok, failed, refused) as a label, value 1",
            [new PromSample(1, ("status", status))]);
        if (Str("time") is { } t && DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.None, out var when))
            p.Gauge("aica_recovery_last_timestamp_seconds", "when the last recovery ended (Unix time)", when.ToUnixTimeSeconds());
        if (Num("duration_ms") is { } ms) p.Gauge("aica_recovery_last_duration_seconds", "how long the last recovery took", ms / 1000);
        if (Num("users") is { } u) p.Gauge("aica_recovery_last_users", "registered users the last recovery handled", u);
        if (Num("failed") is { } f) p.Gauge("aica_recovery_last_failed_users", "users the last recovery failed", f);
    }

    /// <summary>The watched mounts as <c>aica disk</c> measures them (no alert log, no notification).</summary>
    private void Disk(PromText p)
    {
        DiskReport r;
        try { r = new DiskService(s).Run(null, dryRun: true, notify: false); }
        catch (AicaException) { return; } // a bad aica.toml: doctor's config.parse already says so
        var measured = r.Mounts.Where(m => m.Status is MountStatus.Ok or MountStatus.Alert).ToList();
        PromSample[] Per(Func<MountUsage, double> v) => [.. measured.Select(m => new PromSample(v(m), ("mount", m.Path)))];
        p.Gauge("aica_disk_size_bytes", "size of a watched mount", Per(m => m.Size));
        p.Gauge("aica_disk_used_bytes", "bytes used on a watched mount", Per(m => m.Used));
        p.Gauge("aica_disk_available_bytes", "bytes available to non-root on a watched mount", Per(m => m.Available));
        p.Gauge("aica_disk_used_percent", "df's Use% of a watched mount", [.. measured.Where(m => m.Percent is not null).Select(m => new PromSample(m.Percent!.Value, ("mount", m.Path)))]);
        p.Gauge("aica_disk_threshold_percent", "alert threshold of a watched mount (disk.threshold)", Per(_ => r.Threshold));
        p.Gauge("aica_disk_alert", "1 when a watched mount is above its threshold", Per(m => m.Status == MountStatus.Alert ? 1 : 0));
        p.Gauge("aica_disk_error", "1 when a watched mount could not be measured (not mounted, missing)",
            r.Mounts.Where(m => m.Status != MountStatus.Skipped).Select(m => new PromSample(m.Status == MountStatus.Error ? 1 : 0, ("mount", m.Path))));
    }

    /// <summary>Per-user and per-cache usage from the last <c>aica du</c> (daily from cron); never a walk here.</summary>
    private void Usage(PromText p)
    {
        var snap = DuCache.Read(s);
        p.Gauge("aica_du_recorded", $"1 when a usage snapshot of aica du exists ({DuCache.Path})", snap is null ? 0 : 1);
        if (snap is null) return;
        p.Gauge("aica_du_last_timestamp_seconds", "when the last aica du overview ran (Unix time)", snap.Time.ToUnixTimeSeconds());
        PromSample[] Rows(string kind, string label) => [.. snap.Rows.Where(r => r.Kind == kind).Select(r => new PromSample(r.Disk, (label, r.Label)))];
        p.Gauge("aica_user_data_bytes", "bytes on disk in /data/users/USER at the last aica du", Rows("user", "user"));
        p.Gauge("aica_cache_size_bytes", "bytes on disk of a shared cache at the last aica du", Rows("cache", "cache"));
        p.Gauge("aica_dataset_size_bytes", "bytes on disk of a dataset at the last aica du", Rows("dataset", "dataset"));
    }
}
