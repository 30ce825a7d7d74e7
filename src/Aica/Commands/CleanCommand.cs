using Aica.Contracts;
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

    private static string Utc(long seconds) => DateTimeOffset.FromUnixTimeSeconds(seconds).ToString("yyyy-MM-ddTHH:mm:ssZ");

    private static CleanDoc Document(CleanReport r) => new("clean", r.DryRun, r.OlderThanDays,
        [.. r.Targets.Select(t => new CleanTargetRow(t.Name, t.User, t.Path, t.Status == TargetStatus.Ok ? "ok" : "failed", t.Error, t.Bytes, t.Log.Busy,
            [.. t.Log.Removed.OrderBy(x => x.Path, StringComparer.Ordinal).Select(x => new CleanRemovedRow(x.Path, x.Bytes, x.Files, x.Reason))],
            [.. t.Log.Problems.Order(StringComparer.Ordinal)], [.. t.Log.Links.Order(StringComparer.Ordinal)], [.. t.Log.Skipped.Order(StringComparer.Ordinal)],
            [.. t.Notes],
            t.Target != CacheTarget.Hf ? null : [.. t.Repos.Select(x =>
            {
                var repo = x.Plan.Repo;
                return new HfRepoRow(repo.Type, repo.Id, repo.SizeOnDisk, repo.Blobs.Count, Utc(repo.LastAccess), Utc(repo.LastModified), repo.Refs,
                    [.. repo.Revisions.Select(v => new HfRevisionRow(v.Commit, [.. v.Refs], v.Files.Count, v.Detached))],
                    x.Locked, x.Plan.RemoveRepo, x.Locked ? 0 : x.Plan.Bytes);
            })]))],
        r.Total, r.Failed);

    private void Render(CleanReport r)
    {
        var o = cli.Output;
        if (cli.Options.Json)
        {
            o.Json(Document(r), AicaJsonContext.Default.CleanDoc);
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
