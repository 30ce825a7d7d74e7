using Aica.Caches;
using Aica.Native;
using Aica.Services;
using Aica.Site;
using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class CleanCommand(CliContext cli)
{
    /// <summary>Cache cleanup: per-target status and bytes freed. Members (through sudo or as themselves) clean only their own caches and the safe shared targets.</summary>
    /// <param name="all">Every target.</param>
    /// <param name="conda">Shared conda package cache: what conda clean --all removes (unused packages, tarballs, index cache, logs, tempfiles), by aica's own link-safe sweep.</param>
    /// <param name="pip">Per-user pip caches (~/.cache/pip).</param>
    /// <param name="uv">Per-user uv caches (~/.cache/uv).</param>
    /// <param name="npm">Per-user npm caches (~/.npm).</param>
    /// <param name="torch">Shared torch hub cache.</param>
    /// <param name="hf">Shared HuggingFace hub: detached revisions, unreferenced blobs, *.incomplete; whole unused repos with --older-than.</param>
    /// <param name="comfyui">Shared ComfyUI cache.</param>
    /// <param name="flux">Shared Flux cache.</param>
    /// <param name="olderThan">Only what was not used for this many days (0–36500); without it, all of the content (HF: only garbage).</param>
    /// <param name="user">-u, Only this registered user's per-user caches.</param>
    /// <param name="dryRun">-n, List exactly what would go and how much it frees; change nothing.</param>
    /// <param name="cancellationToken">Cancelled on SIGINT/SIGTERM.</param>
    [Command("clean")]
    public async Task<int> Run(bool all = false, bool conda = false, bool pip = false, bool uv = false, bool npm = false, bool torch = false,
        bool hf = false, bool comfyui = false, bool flux = false, string? olderThan = null, string? user = null, bool dryRun = false,
        CancellationToken cancellationToken = default)
    {
        int? days = null;
        if (olderThan is not null)
        {
            if (!int.TryParse(olderThan, System.Globalization.NumberStyles.None, null, out var d))
                throw AicaException.Usage($"--older-than needs a number of days (0–36500), got '{olderThan}'");
            days = d;
        }
        var targets = new List<CacheTarget>();
        foreach (var (on, t) in new[] { (conda, CacheTarget.Conda), (pip, CacheTarget.Pip), (uv, CacheTarget.Uv), (npm, CacheTarget.Npm),
                     (torch, CacheTarget.Torch), (hf, CacheTarget.Hf), (comfyui, CacheTarget.ComfyUi), (flux, CacheTarget.Flux) })
            if (all || on) targets.Add(t);

        using var s = cli.CreateServices();
        var caller = DetectCaller(s);
        var r = await new CleanService(s).Run(new CleanOptions(targets, days, user, dryRun, caller), cancellationToken);
        Render(r);
        return r.Failed > 0 ? ExitCodes.Failed : ExitCodes.Ok;
    }

    /// <summary>
    /// An admin is root not acting for a member. Under sudo, SUDO_UID names the caller: a registered user, a member of
    /// the shared group (the sudoers rule lets the whole group in, registered or not) or an account aica cannot
    /// resolve is held to the member's rules; only another account (an admin's own) is an admin. A member may not
    /// point aica at another tree with --root (sudoers allows no such form either).
    /// </summary>
    private static Caller DetectCaller(AicaServices s)
    {
        int uid;
        if (Sys.Euid != 0) uid = (int)Sys.Uid;
        else if (int.TryParse(Environment.GetEnvironmentVariable("SUDO_UID"), out var su) && su != 0) uid = su;
        else return Caller.Admin;
        var db = s.Accounts.Load();
        var name = db.UserById(uid)?.Name;
        var registered = name is not null && s.Registry.Load().Find(name) is not null;
        if (Sys.Euid == 0 && name is not null && !registered && !db.IsMember(name, s.LoadConfig().Group))
            return Caller.Admin; // an admin using sudo from their own account
        if (Environment.GetCommandLineArgs().Any(a => a == "--root" || a.StartsWith("--root=", StringComparison.Ordinal))
            || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("AICA_ROOT")) && Sys.Euid == 0)
            throw AicaException.Refused("--root is for admins: members clean the real server's caches only");
        return new Caller(false, uid, name);
    }

    private void Render(CleanReport r)
    {
        var o = cli.Output;
        if (cli.Options.Json)
        {
            o.Json(j =>
            {
                j.WriteStartObject();
                j.WriteString("command", "clean");
                j.WriteBoolean("dry_run", r.DryRun);
                if (r.OlderThanDays is { } d) j.WriteNumber("older_than_days", d); else j.WriteNull("older_than_days");
                j.WriteStartArray("targets");
                foreach (var t in r.Targets)
                {
                    j.WriteStartObject();
                    j.WriteString("target", t.Name);
                    if (t.User is null) j.WriteNull("user"); else j.WriteString("user", t.User);
                    j.WriteString("path", t.Path);
                    j.WriteString("status", t.Status == TargetStatus.Ok ? "ok" : "failed");
                    if (t.Error is not null) j.WriteString("error", t.Error);
                    j.WriteNumber("bytes_freed", t.Bytes);
                    j.WriteNumber("busy_skipped", t.Log.Busy);
                    j.WriteStartArray("removed");
                    foreach (var x in t.Log.Removed.OrderBy(x => x.Path, StringComparer.Ordinal))
                    {
                        j.WriteStartObject();
                        j.WriteString("path", x.Path);
                        j.WriteNumber("bytes", x.Bytes);
                        j.WriteNumber("files", x.Files);
                        j.WriteString("reason", x.Reason);
                        j.WriteEndObject();
                    }
                    j.WriteEndArray();
                    j.WriteStartArray("problems"); foreach (var p in t.Log.Problems.Order(StringComparer.Ordinal)) j.WriteStringValue(p); j.WriteEndArray();
                    j.WriteStartArray("links"); foreach (var p in t.Log.Links.Order(StringComparer.Ordinal)) j.WriteStringValue(p); j.WriteEndArray();
                    j.WriteStartArray("skipped"); foreach (var p in t.Log.Skipped.Order(StringComparer.Ordinal)) j.WriteStringValue(p); j.WriteEndArray();
                    j.WriteStartArray("notes"); foreach (var p in t.Notes) j.WriteStringValue(p); j.WriteEndArray();
                    if (t.Target == CacheTarget.Hf)
                    {
                        j.WriteStartArray("repos");
                        foreach (var x in t.Repos)
                        {
                            var repo = x.Plan.Repo;
                            j.WriteStartObject();
                            j.WriteString("type", repo.Type);
                            j.WriteString("id", repo.Id);
                            j.WriteNumber("size_on_disk", repo.SizeOnDisk);
                            j.WriteNumber("blobs", repo.Blobs.Count);
                            j.WriteString("last_accessed", DateTimeOffset.FromUnixTimeSeconds(repo.LastAccess).ToString("yyyy-MM-ddTHH:mm:ssZ"));
                            j.WriteString("last_modified", DateTimeOffset.FromUnixTimeSeconds(repo.LastModified).ToString("yyyy-MM-ddTHH:mm:ssZ"));
                            j.WriteStartObject("refs"); foreach (var (k, v) in repo.Refs) j.WriteString(k, v); j.WriteEndObject();
                            j.WriteStartArray("revisions");
                            foreach (var rev in repo.Revisions)
                            {
                                j.WriteStartObject();
                                j.WriteString("commit", rev.Commit);
                                j.WriteStartArray("refs"); foreach (var n in rev.Refs) j.WriteStringValue(n); j.WriteEndArray();
                                j.WriteNumber("files", rev.Files.Count);
                                j.WriteBoolean("detached", rev.Detached);
                                j.WriteEndObject();
                            }
                            j.WriteEndArray();
                            j.WriteBoolean("locked", x.Locked);
                            j.WriteBoolean("remove_repo", x.Plan.RemoveRepo);
                            j.WriteNumber("bytes_freed", x.Locked ? 0 : x.Plan.Bytes);
                            j.WriteEndObject();
                        }
                        j.WriteEndArray();
                    }
                    j.WriteEndObject();
                }
                j.WriteEndArray();
                j.WriteNumber("total_bytes_freed", r.Total);
                j.WriteNumber("failed", r.Failed);
                j.WriteEndObject();
            });
            return;
        }
        var verb = r.DryRun ? "would free" : "freed";
        foreach (var t in r.Targets)
        {
            var busy = t.Log.Busy > 0 ? $", {t.Log.Busy} busy .nfs file(s) skipped" : "";
            if (t.Status == TargetStatus.Failed)
                o.Problem("FAIL", $"{t.Label,-16} {t.Path}: {t.Error ?? $"{t.Log.Problems.Count} problem(s)"}; {verb} {Human.Bytes(t.Bytes)}{busy}");
            else if (t.Log.Problems.Count > 0) // not [OK]: some of it could not be removed (the WARN lines below say why)
                o.Problem("WARN", $"{t.Label,-16} {t.Path}: {verb} {Human.Bytes(t.Bytes)} ({t.Log.Removed.Count} item(s)), {t.Log.Problems.Count} problem(s): not all of it{busy}");
            else
                o.Line(r.DryRun ? "PLAN" : "OK", $"{t.Label,-16} {t.Path}: {verb} {Human.Bytes(t.Bytes)} ({t.Log.Removed.Count} item(s)){busy}");
            if (r.DryRun || cli.Options.Verbose)
                foreach (var x in t.Log.Removed.OrderBy(x => x.Path, StringComparer.Ordinal))
                    o.Line("", $"{(r.DryRun ? "remove" : "removed")} {x.Path}  {Human.Bytes(x.Bytes)}, {x.Files} file(s)  ({x.Reason})");
            if (cli.Options.Verbose)
                foreach (var x in t.Repos)
                {
                    var repo = x.Plan.Repo;
                    o.Line("", $"{repo.Type} {repo.Id}: {repo.Revisions.Count} revision(s) ({repo.Revisions.Count(v => v.Detached)} detached), " +
                        $"{repo.Refs.Count} ref(s), {repo.Blobs.Count} blob(s), {Human.Bytes(repo.SizeOnDisk)} on disk, " +
                        $"last accessed {DateTimeOffset.FromUnixTimeSeconds(repo.LastAccess):yyyy-MM-dd}{(x.Locked ? ", locked: skipped" : "")}");
                }
            foreach (var p in t.Log.Problems.Order(StringComparer.Ordinal)) o.Problem("WARN", p);
            foreach (var p in t.Log.Links.Order(StringComparer.Ordinal)) o.Problem("WARN", p);
            foreach (var p in t.Log.Skipped.Order(StringComparer.Ordinal)) o.Problem("WARN", p);
            foreach (var n in t.Notes) o.Line("", n);
        }
        var incomplete = r.Targets.Count(t => t.Status != TargetStatus.Failed && t.Log.Problems.Count > 0);
        o.Summary($"clean{(r.DryRun ? " (dry run)" : "")}: {verb} {Human.Bytes(r.Total)} ({r.Total} bytes) in {r.Targets.Count} target(s), {r.Failed} failed" +
            (incomplete > 0 ? $", {incomplete} incomplete ({r.Targets.Sum(t => t.Log.Problems.Count)} problem(s))" : ""));
    }
}
